/**
 * Captions image files: decode (data/images) → encode (engine/encoder: feature + ImageNet tags) → beam search
 * (engine/captioner). Works in chunks so memory stays bounded, yields one result per file in input order, and a
 * file that cannot be read becomes an error result while the rest go on. Shared by the CLI and the app's jobs.
 *
 * With `workers` ≥ 2 on the wasm backend, encoding and beam search run on a pool of worker threads
 * (engine/parallel/encoder-pool.ts), each with its own copy of the encoder and the model, which caption a
 * contiguous share of each chunk; this thread decodes the next chunk meanwhile. The results are the same as on one
 * thread (captions equal; scores and tags up to floating-point detail), in the same order. The threads start with
 * the first chunk and stop when the generator ends (finished, failed, cancelled or left early).
 */
import { loadImages, type ImageLoadResult } from '../data/images.ts';
import { currentBackend } from '../engine/backend.ts';
import { captionFeaturesAsync, type CaptionOptions, type CaptionResult } from '../engine/captioner.ts';
import type { CaptionModel } from '../engine/caption-model.ts';
import type { ImageEncoder, ImageTag } from '../engine/encoder.ts';
import { encoderSpecFor } from '../engine/encoder-registry.ts';
import { EncoderPool } from '../engine/parallel/encoder-pool.ts';
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
  /** Images read, encoded and decoded together (default 16; with workers at least 2 per worker). */
  readonly chunkSize?: number;
  /** Files decoded in parallel (default 4). */
  readonly concurrency?: number;
  /**
   * Worker threads that encode and caption (default 1: all in this thread). Used on the wasm backend with a
   * bundled encoder; never more than `ceil(files / MIN_IMAGES_PER_WORKER)`, so a few files stay in this thread.
   */
  readonly workers?: number;
  readonly signal?: AbortSignal;
  /** Awaited between chunks (a job's pause gate); may throw to stop. */
  readonly checkpoint?: () => void | Promise<void>;
  readonly onProgress?: ProgressListener;
}

/** Fewest files per worker thread worth starting it for (a thread loads its own encoder and model first). */
export const MIN_IMAGES_PER_WORKER = 4;

/** How many worker threads `captionImages` uses for `files` files (1: none, all in this thread). */
export function captionWorkers(files: number, opts: Pick<CaptionImagesOptions, 'workers' | 'encoder'>): number {
  const wanted = Math.min(Math.floor(opts.workers ?? 1), Math.ceil(files / MIN_IMAGES_PER_WORKER));
  if (wanted < 2 || currentBackend()?.tfjsBackend !== 'wasm') return 1;
  try {
    encoderSpecFor(opts.encoder.id);
  } catch {
    return 1; // an encoder that is not installed (a test's toy encoder) cannot be loaded by a worker
  }
  return wanted;
}

/** Captions `paths`, yielding each file's result in order as its chunk finishes. */
export async function* captionImages(paths: readonly string[], opts: CaptionImagesOptions): AsyncGenerator<ImageCaption> {
  const workers = captionWorkers(paths.length, opts);
  if (workers < 2) {
    yield* captionInThread(paths, opts);
    return;
  }
  const pool = new EncoderPool(encoderSpecFor(opts.encoder.id), workers, opts.encoder.id, opts.encoder.featureDim, opts.model);
  try {
    yield* captionOnPool(paths, opts, pool);
  } finally {
    await pool.close();
  }
}

/** The tags and captions of each decoded image of a chunk, in order. */
type ChunkCaptioner = (pixels: readonly Uint8Array[]) => Promise<readonly { readonly tags: readonly ImageTag[]; readonly result: CaptionResult }[]>;

/** The one-thread path: encode and beam-search each chunk in this thread. */
function captionInThread(paths: readonly string[], opts: CaptionImagesOptions): AsyncGenerator<ImageCaption> {
  const topK = opts.tags ?? 5;
  return captionChunks(paths, opts, Math.max(1, opts.chunkSize ?? 16), false, async (pixels) => {
    const encoded = await opts.encoder.encode(pixels, { topK });
    const captions = await captionFeaturesAsync(opts.model, encoded.features, { ...opts.caption, encoderId: opts.encoder.id });
    return captions.map((result, k) => ({ tags: encoded.tags[k] ?? [], result }));
  });
}

/** The pool path: each chunk split among the workers, the next chunk's files read meanwhile. */
function captionOnPool(paths: readonly string[], opts: CaptionImagesOptions, pool: EncoderPool): AsyncGenerator<ImageCaption> {
  const chunkSize = Math.max(1, opts.chunkSize ?? 16, 2 * pool.workers);
  return captionChunks(paths, opts, chunkSize, true, (pixels) => pool.caption(pixels, { topK: opts.tags ?? 5, caption: opts.caption ?? {} }));
}

/**
 * Reads `paths` chunk by chunk (with `prefetch`, the next chunk's files while this one is captioned), captions the
 * images that could be read and yields every file's result in order, reporting progress after each chunk.
 */
async function* captionChunks(
  paths: readonly string[],
  opts: CaptionImagesOptions,
  chunkSize: number,
  prefetch: boolean,
  captionChunk: ChunkCaptioner,
): AsyncGenerator<ImageCaption> {
  const meter = new RateMeter();
  const total = paths.length;
  const load = (start: number): Promise<ImageLoadResult[]> => loadImages(paths.slice(start, start + chunkSize), { concurrency: opts.concurrency ?? 4 });
  let next: Promise<ImageLoadResult[]> | null = null;
  for (let start = 0; start < total; start += chunkSize) {
    if (opts.signal?.aborted) throw new CancelledError();
    await opts.checkpoint?.();
    const loaded = await (next ?? load(start));
    next = prefetch && start + chunkSize < total ? load(start + chunkSize) : null;
    const good = loaded.flatMap((r) => (r.ok ? [r.image.pixels] : []));
    const captions = good.length ? await captionChunk(good) : [];
    let g = 0;
    for (const r of loaded) {
      if (r.ok) {
        const c = captions[g++]!;
        yield { ok: true, path: r.path, tags: c.tags, ...c.result };
      } else {
        yield { ok: false, path: r.path, error: r.error.reason };
      }
    }
    const done = Math.min(total, start + chunkSize);
    const { rate, eta } = meter.update(done);
    opts.onProgress?.({ task: 'caption', done, total, rate, etaSeconds: eta(total) });
  }
}
