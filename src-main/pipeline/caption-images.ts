/**
 * Captions image files: decode (data/images) → encode (engine/encoder: feature + ImageNet tags) → beam search
 * (engine/captioner). Works in chunks so memory stays bounded, yields one result per file in input order, and a
 * file that cannot be read becomes an error result while the rest go on. Shared by the CLI and the app's jobs.
 *
 * With `workers` ≥ 2 on the wasm backend (and more than two chunks of files), encoding and beam search run on a
 * pool of worker threads (engine/parallel/encoder-pool.ts), each with its own copy of the encoder and the model,
 * which caption a contiguous share of each chunk; this thread reads the next chunk meanwhile and queues it to them,
 * so a thread that finishes its share early goes on with the next. While the threads start (each loads its encoder
 * and model, about a second) the chunks are captioned in this thread. The results are the same either way
 * (captions equal; scores and tags up to floating-point detail), in the same order. The threads stop when the
 * generator ends (finished, failed, cancelled or left early).
 */
import { loadImages, type ImageLoadResult } from '../data/images.ts';
import { currentBackend } from '../engine/backend.ts';
import { captionFeaturesAsync, type CaptionOptions, type CaptionResult } from '../engine/captioner.ts';
import type { CaptionModel } from '../engine/caption-model.ts';
import type { ImageEncoder, ImageTag } from '../engine/encoder.ts';
import { encoderSpecFor } from '../engine/encoder-registry.ts';
import { EncoderPool } from '../engine/parallel/encoder-pool.ts';
import type { WorkerCaption, WorkerCaptionOptions } from '../engine/parallel/encoder-worker.ts';
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
   * bundled encoder, for more than two chunks of files (fewer are done before the threads would be ready).
   */
  readonly workers?: number;
  /**
   * An open pool made with this `model` (and `encoder`'s spec) to caption every chunk on, whatever `workers` says;
   * the caller closes it. For callers that caption many batches (the bench) and should not start threads for each.
   */
  readonly pool?: EncoderPool;
  readonly signal?: AbortSignal;
  /** Awaited between chunks (a job's pause gate); may throw to stop. */
  readonly checkpoint?: () => void | Promise<void>;
  readonly onProgress?: ProgressListener;
  /** A line for the user when the run goes on differently than asked (threads that could not start). */
  readonly onWarning?: (message: string) => void;
}

/** How long a paused run keeps its threads. */
const POOL_IDLE_MS = 30_000;

/** Images per chunk with `workers` threads: the asked chunk size, and at least 2 per thread. */
function poolChunkSize(opts: Pick<CaptionImagesOptions, 'chunkSize'>, workers: number): number {
  return Math.max(1, opts.chunkSize ?? 16, 2 * workers);
}

/** How many worker threads `captionImages` starts for `files` files (1: none, all in this thread). */
export function captionWorkers(files: number, opts: Pick<CaptionImagesOptions, 'workers' | 'encoder' | 'chunkSize'>): number {
  const wanted = Math.floor(opts.workers ?? 1);
  if (wanted < 2 || files <= 2 * poolChunkSize(opts, wanted) || currentBackend()?.tfjsBackend !== 'wasm') return 1;
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
    const pool = opts.pool;
    yield* captionChunks(paths, opts, poolChunkSize(opts, pool.workers), true, (pixels) => pool.caption(pixels, poolOptions(opts)));
    return;
  }
  const workers = captionWorkers(paths.length, opts);
  const inThread = inThreadCaptioner(opts);
  if (workers < 2) {
    yield* captionChunks(paths, opts, Math.max(1, opts.chunkSize ?? 16), false, inThread);
    return;
  }
  // The threads load their encoder and model (about a second); meanwhile the chunks are captioned here.
  const pool = new EncoderPool(encoderSpecFor(opts.encoder.id), workers, opts.encoder.id, opts.encoder.featureDim, {
    captionModel: opts.model,
    idleMs: POOL_IDLE_MS, // a run paused for long gives its threads back (they start again on resume)
  });
  let ready = false;
  pool.ready().then(
    () => (ready = true),
    // Threads that cannot start leave the work to this thread; the user hears why it is slower than asked.
    (err: unknown) => opts.onWarning?.(`caption threads could not start (${firstLine(err)}); captioning in one thread`),
  );
  try {
    yield* captionChunks(paths, opts, poolChunkSize(opts, workers), true, (pixels) => (ready ? pool.caption(pixels, poolOptions(opts)) : inThread(pixels)));
  } finally {
    await pool.close();
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

function poolOptions(opts: CaptionImagesOptions): WorkerCaptionOptions {
  return { topK: opts.tags ?? 5, caption: opts.caption ?? {} };
}

/** The tags and captions of each decoded image of a chunk, in order. */
type ChunkCaptioner = (pixels: readonly Uint8Array[]) => Promise<readonly WorkerCaption[]>;

/** Encodes and beam-searches chunks in this thread, one chunk at a time. */
function inThreadCaptioner(opts: CaptionImagesOptions): ChunkCaptioner {
  const topK = opts.tags ?? 5;
  let previous: Promise<unknown> = Promise.resolve();
  return (pixels) => {
    const work = previous.then(async () => {
      const encoded = await opts.encoder.encode(pixels, { topK });
      const captions = await captionFeaturesAsync(opts.model, encoded.features, { ...opts.caption, encoderId: opts.encoder.id });
      return captions.map((result, k) => ({ tags: encoded.tags[k] ?? [], result }));
    });
    previous = work.catch(() => {});
    return work;
  };
}

/** A chunk's files as read, and the results of those that could be read. */
interface ChunkWork {
  readonly loaded: readonly ImageLoadResult[];
  readonly captions: readonly WorkerCaption[];
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
