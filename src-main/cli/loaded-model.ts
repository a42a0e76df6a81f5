/**
 * What the CLI commands that caption hand their use case: a loader for the model and its encoder (the backend
 * started first), kept so the command disposes them when done, and the stderr lines for feature-extraction trouble.
 */
import { loadBundle } from '../engine/bundle.ts';
import { disposeCaptionModel, type CaptionModel } from '../engine/caption-model.ts';
import { loadEncoder, type ImageEncoder } from '../engine/encoder.ts';
import { encoderSpecFor } from '../engine/encoder-registry.ts';
import type { ProgressBar } from './progress-bar.ts';
import { note, startBackend, type GlobalOptions } from './options.ts';

export class LoadedModel {
  private loaded: { model: CaptionModel; encoder: ImageEncoder } | undefined;

  constructor(
    private readonly opts: GlobalOptions,
    private readonly modelDir: string,
  ) {}

  /** Starts the backend, then loads the bundle and the encoder its features come from. */
  readonly load = async (): Promise<{ model: CaptionModel; encoder: ImageEncoder }> => {
    await startBackend(this.opts);
    const model = await loadBundle(this.modelDir);
    try {
      this.loaded = { model, encoder: await loadEncoder(encoderSpecFor(model.encoderId)) };
    } catch (err) {
      disposeCaptionModel(model);
      throw err;
    }
    return this.loaded;
  };

  dispose(): void {
    this.loaded?.encoder.dispose();
    if (this.loaded) disposeCaptionModel(this.loaded.model);
    this.loaded = undefined;
  }
}

/**
 * Feature-extraction events as stderr lines: a cache warning, and the images left out (the first `limit`; also
 * under --quiet when `skipsAlways`, as `eval` prints them: its figures leave those images out).
 */
export function featureNotes(opts: GlobalOptions, bar: ProgressBar, limit = Infinity, skipsAlways = false) {
  return {
    onWarning: (message: string): void => {
      bar.stop();
      note(opts, message);
    },
    onUnreadable: (failures: readonly { error: string }[]): void => {
      bar.stop();
      for (const f of failures.slice(0, limit)) note(skipsAlways ? { ...opts, quiet: false } : opts, `skipped ${f.error}`);
    },
  };
}
