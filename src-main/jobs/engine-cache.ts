/**
 * What a job worker keeps loaded between jobs: image encoders (by id) and caption models (by folder, reloaded
 * when the bundle's model.json changes), so the second caption request does not pay for loading them again.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { BUNDLE_MODEL_FILE, loadBundle } from '../engine/bundle.ts';
import { disposeCaptionModel, type CaptionModel } from '../engine/caption-model.ts';
import { loadEncoder, type ImageEncoder } from '../engine/encoder.ts';
import { encoderSpecFor } from '../engine/encoder-registry.ts';

const MAX_MODELS = 3;

export class EngineCache {
  private readonly encoders = new Map<string, Promise<ImageEncoder>>();
  private readonly models = new Map<string, { stamp: number; model: Promise<CaptionModel> }>();

  /** The encoder with this id, loaded once. */
  encoder(id: string): Promise<ImageEncoder> {
    let pending = this.encoders.get(id);
    if (!pending) {
      pending = loadEncoder(encoderSpecFor(id));
      this.encoders.set(id, pending);
      pending.catch(() => this.encoders.delete(id));
    }
    return pending;
  }

  /** The model in `dir`, loaded once per version of its model.json. */
  async model(dir: string): Promise<CaptionModel> {
    const key = path.resolve(dir);
    const stamp = (await stat(path.join(key, BUNDLE_MODEL_FILE))).mtimeMs;
    const cached = this.models.get(key);
    if (cached && cached.stamp === stamp) return cached.model;
    if (cached) {
      this.models.delete(key);
      cached.model.then(disposeCaptionModel, () => {});
    }
    const model = loadBundle(key);
    this.models.set(key, { stamp, model });
    model.catch(() => this.models.delete(key));
    while (this.models.size > MAX_MODELS) {
      const [oldest, entry] = this.models.entries().next().value as [string, { model: Promise<CaptionModel> }];
      this.models.delete(oldest);
      entry.model.then(disposeCaptionModel, () => {});
    }
    return model;
  }
}
