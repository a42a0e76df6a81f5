/**
 * Captions image files: decode (data/images) → encode (engine/encoder: feature + ImageNet tags) → beam search
 * (engine/captioner). Works in chunks so memory stays bounded, yields one result per file in input order, and a
 * file that cannot be read becomes an error result while the rest go on. Shared by the CLI and the app's jobs.
 *
 * With `workers` ≥ 2 on the wasm backend, encoding and beam search run on a pool of worker threads
 * (engine/parallel/encoder-pool.ts), each with its own copy of the encoder and the model, which caption a
 * contiguous share of each chunk; this thread reads the next chunk meanwhile and queues it to them, so a thread
 * that finishes its share early goes on with the next. The results are the same as on one thread (captions equal;
 * scores and tags up to floating-point detail), in the same order. The threads start with the first chunk and stop
 * when the generator ends (finished, failed, cancelled or left early).
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
  /**
   * An open pool made with this `model` (and `encoder`'s spec) to caption on instead, whatever `workers` says; the
   * caller closes it. For callers that caption many batches (the bench) and should not start threads for each.
   */
  readonly pool?: EncoderPool;
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
  if (opts.pool) {
    yield* captionOnPool(paths, opts, opts.pool);
    return;
  }
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

/** The pool path: each chunk split among the workers, the next one read and queued to them meanwhile. */
function captionOnPool(paths: readonly string[], opts: CaptionImagesOptions, pool: EncoderPool): AsyncGenerator<ImageCaption> {
  const chunkSize = Math.max(1, opts.chunkSize ?? 16, 2 * pool.workers);
  return captionChunks(paths, opts, chunkSize, true, (pixels) => pool.caption(pixels, { topK: opts.tags ?? 5, caption: opts.caption ?? {} }));
}

/** A chunk's files as read, and the results of those that could be read. */
interface ChunkWork {
  readonly loaded: readonly ImageLoadResult[];
  readonly captions: Awaited<ReturnType<ChunkCaptioner>>;
}

/**
 * Reads `paths` chunk by chunk, captions the images that could be read and yields every file's result in order,
 * reporting progress after each chunk. With `ahead`, the next chunk is read and handed to `captionChunk` while this
 * one is yielded (so worker threads never wait between chunks; at most two chunks are held).
 */
async function* captionChunks(
  paths: readonly string[],
  opts: CaptionImagesOptions,
  chunkSize: number,
  ahead: boolean,
  captionChunk: ChunkCaptioner,
): AsyncGenerator<ImageCaption> {
  const meter = new RateMeter();
  const total = paths.length;
  const launch = (start: number): Promise<ChunkWork> => {
    const work = loadImages(paths.slice(start, start + chunkSize), { concurrency: opts.concurrency ?? 4 }).then(async (loaded) => {
      const good = loaded.flatMap((r) => (r.ok ? [r.image.pixels] : []));
      return { loaded, captions: good.length ? await captionChunk(good) : [] };
    });
    work.catch(() => {}); // awaited below, or dropped when the run stops early (cancelled, failed, left)
    return work;
  };
  let next: Promise<ChunkWork> | null = null;
  for (let start = 0; start < total; start += chunkSize) {
    if (opts.signal?.aborted) throw new CancelledError();
    await opts.checkpoint?.();
    const current = next ?? launch(start);
    next = ahead && start + chunkSize < total ? launch(start + chunkSize) : null;
    const { loaded, captions } = await current;
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
