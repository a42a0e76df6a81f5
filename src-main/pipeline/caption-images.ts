/**
 * Captions image files: decode (data/images) → encode (engine/encoder: feature + ImageNet tags) → beam search
 * (engine/captioner). Works in chunks so memory stays bounded, yields one result per file in input order, and a
 * file that cannot be read becomes an error result while the rest go on. Shared by the CLI and the app's jobs.
 */
import { loadImages } from '../data/images.ts';
import { captionFeaturesAsync, type CaptionOptions, type CaptionResult } from '../engine/captioner.ts';
import type { CaptionModel } from '../engine/caption-model.ts';
import type { ImageEncoder, ImageTag } from '../engine/encoder.ts';
import { CancelledError, RateMeter, type ProgressListener } from '../util/progress.ts';

/** The captions of one file, or why it failed. */
export type ImageCaption =
  | ({ readonly ok: true; readonly path: string; readonly tags: readonly ImageTag[] } & CaptionResult)
  | { readonly ok: false; readonly path: string; readonly error: string };

export interface CaptionImagesOptions {
  readonly model: CaptionModel;
  readonly encoder: ImageEncoder;
  /** Decoding settings (the encoder id is filled in). */
  readonly caption?: Omit<CaptionOptions, 'encoderId'>;
  /** ImageNet tags per image (default 5; 0 for none). */
  readonly tags?: number;
  /** Images read, encoded and decoded together (default 16). */
  readonly chunkSize?: number;
  /** Files decoded in parallel (default 4). */
  readonly concurrency?: number;
  readonly signal?: AbortSignal;
  /** Awaited between chunks (a job's pause gate); may throw to stop. */
  readonly checkpoint?: () => void | Promise<void>;
  readonly onProgress?: ProgressListener;
}

/** Captions `paths`, yielding each file's result in order as its chunk finishes. */
export async function* captionImages(paths: readonly string[], opts: CaptionImagesOptions): AsyncGenerator<ImageCaption> {
  const chunkSize = Math.max(1, opts.chunkSize ?? 16);
  const topK = opts.tags ?? 5;
  const meter = new RateMeter();
  const total = paths.length;
  for (let start = 0; start < total; start += chunkSize) {
    if (opts.signal?.aborted) throw new CancelledError();
    await opts.checkpoint?.();
    const loaded = await loadImages(paths.slice(start, start + chunkSize), { concurrency: opts.concurrency ?? 4 });
    const good = loaded.flatMap((r) => (r.ok ? [r.image.pixels] : []));
    const encoded = good.length ? await opts.encoder.encode(good, { topK }) : { features: [], tags: [] };
    const captions = good.length ? await captionFeaturesAsync(opts.model, encoded.features, { ...opts.caption, encoderId: opts.encoder.id }) : [];
    let g = 0;
    for (const r of loaded) {
      if (r.ok) {
        yield { ok: true, path: r.path, tags: encoded.tags[g] ?? [], ...captions[g]! };
        g++;
      } else {
        yield { ok: false, path: r.path, error: r.error.reason };
      }
    }
    const done = Math.min(total, start + chunkSize);
    const { rate, eta } = meter.update(done);
    opts.onProgress?.({ task: 'caption', done, total, rate, etaSeconds: eta(total) });
  }
}
