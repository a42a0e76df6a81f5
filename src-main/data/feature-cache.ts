/**
 * Image features computed once per (encoder id, sha256 of the file's bytes) and kept on disk, so every dataset
 * and every run that meets the same image with the same encoder reuses them — whatever the file is called.
 *
 * Layout: `<cacheDir>/features/<encoder slug>/<hh>/<sha256>.csf`, one small binary file per image:
 *   0  'CSFC' magic · 4 u16 version (1) · 6 u16 dtype (1 = float32) · 8 u32 featureDim
 *   12 sha256(encoder id + NUL + content hash) — which key the file belongs to
 *   44 sha256(payload) — checksum
 *   76 payload: featureDim float32 little-endian
 * A file that is short, of another key or dimension, or fails its checksum is treated as absent: the features
 * are recomputed and the file rewritten (atomically, like every write here).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import envPaths from 'env-paths';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { CancelledError, RateMeter, type ProgressListener } from '../util/progress.ts';
import { mapLimit } from '../util/map-limit.ts';
import { decodeImage, readImageFile } from './images.ts';

/** What the cache needs from an image encoder (`engine/encoder.ts`'s `ImageEncoder` fits). */
export interface FeatureEncoder {
  /** Stable identity of weights, feature and image pipeline; part of the cache key. */
  readonly id: string;
  readonly featureDim: number;
  /** Features of 224×224×3 RGB images, one Float32Array(featureDim) per image, in order (`topK: 0`: no tags wanted). */
  encode(pixels: readonly Uint8Array[], opts?: { readonly topK?: number }): Promise<{ readonly features: readonly Float32Array[] }>;
}

/** Turns a file's bytes into the encoder's pixels; `path` names the file in errors. Default: `images.ts`. */
export type PixelDecoder = (data: Uint8Array, path: string) => Promise<Uint8Array>;

/**
 * The cache folder when none is given: `CAPTION_STUDIO_CACHE_DIR` (the app's name for it, services/app-dirs.ts),
 * else `CAPTION_STUDIO_CACHE` (the CLI's earlier name, still read), else the user's cache dir (XDG_CACHE_HOME on
 * Linux) — the app's cache folder too.
 */
export function defaultCacheDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const chosen = env.CAPTION_STUDIO_CACHE_DIR || env.CAPTION_STUDIO_CACHE;
  if (chosen) return path.resolve(chosen);
  if (env.XDG_CACHE_HOME) return path.join(env.XDG_CACHE_HOME, 'caption-studio');
  return envPaths('caption-studio', { suffix: '' }).cache;
}

/** sha256 of bytes, hex. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

const MAGIC = 0x43534643; // 'CSFC' read big-endian
const VERSION = 1;
const DTYPE_FLOAT32 = 1;
const HEADER_BYTES = 76;

/** Why a cache entry could not be used. */
export type CacheMiss = 'absent' | 'damaged';

/** The on-disk feature store (see the module comment for the layout). */
export class FeatureCache {
  constructor(readonly dir: string = defaultCacheDir()) {}

  /** The file holding the features of content `contentHash` under encoder `encoderId`. */
  fileFor(encoderId: string, contentHash: string): string {
    const slug = `${encoderId.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80)}-${sha256Hex(encoderId).slice(0, 10)}`;
    return path.join(this.dir, 'features', slug, contentHash.slice(0, 2), `${contentHash}.csf`);
  }

  /** The cached features, or why there are none usable. */
  async get(encoderId: string, featureDim: number, contentHash: string): Promise<Float32Array | CacheMiss> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.fileFor(encoderId, contentHash));
    } catch {
      return 'absent';
    }
    if (bytes.length !== HEADER_BYTES + featureDim * 4) return 'damaged';
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0) !== MAGIC || view.getUint16(4, true) !== VERSION || view.getUint16(6, true) !== DTYPE_FLOAT32) return 'damaged';
    if (view.getUint32(8, true) !== featureDim) return 'damaged';
    if (!bytes.subarray(12, 44).equals(keyDigest(encoderId, contentHash))) return 'damaged';
    const payload = bytes.subarray(HEADER_BYTES);
    if (!bytes.subarray(44, 76).equals(createHash('sha256').update(payload).digest())) return 'damaged';
    const features = new Float32Array(featureDim);
    for (let i = 0; i < featureDim; i++) features[i] = view.getFloat32(HEADER_BYTES + i * 4, true);
    return features;
  }

  /** Stores features (atomically). */
  async put(encoderId: string, contentHash: string, features: Float32Array): Promise<void> {
    const bytes = Buffer.alloc(HEADER_BYTES + features.length * 4);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    view.setUint32(0, MAGIC);
    view.setUint16(4, VERSION, true);
    view.setUint16(6, DTYPE_FLOAT32, true);
    view.setUint32(8, features.length, true);
    keyDigest(encoderId, contentHash).copy(bytes, 12);
    for (let i = 0; i < features.length; i++) view.setFloat32(HEADER_BYTES + i * 4, features[i]!, true);
    createHash('sha256').update(bytes.subarray(HEADER_BYTES)).digest().copy(bytes, 44);
    await writeFileAtomic(this.fileFor(encoderId, contentHash), bytes);
  }
}

function keyDigest(encoderId: string, contentHash: string): Buffer {
  return createHash('sha256').update(`${encoderId}\0${contentHash}`).digest();
}

/** Options for `extractFeatures`. */
export interface ExtractOptions {
  /** Cache folder (default `defaultCacheDir()`). */
  readonly cacheDir?: string;
  /** Images per encoder call (default 32). */
  readonly batchSize?: number;
  /** Files read and decoded at once (default 4). */
  readonly concurrency?: number;
  /** Stops between batches with a `CancelledError`; what was computed so far stays cached. */
  readonly signal?: AbortSignal;
  /** Awaited between batches, e.g. a job's pause/cancel gate (may throw to stop). */
  readonly checkpoint?: () => void | Promise<void>;
  /** Progress events (task 'extract'): done/total images, rate, ETA, and counts of cached/computed/failed. */
  readonly onProgress?: ProgressListener;
  /** Told once when the cache cannot be written (extraction goes on without keeping the features). */
  readonly onWarning?: (message: string) => void;
  /** Pixel decoder (default: `decodeImage` from `images.ts`); tests inject a fake. */
  readonly decode?: PixelDecoder;
}

/** Features of one path: where they came from ('repaired' = the cache file was damaged and was rewritten). */
export type FeatureResult =
  | {
      readonly ok: true;
      readonly path: string;
      readonly contentHash: string;
      readonly features: Float32Array;
      readonly source: 'cache' | 'computed' | 'repaired';
    }
  | { readonly ok: false; readonly path: string; readonly error: string };

/** A file waiting for the encoder, and every result index sharing its content. */
interface PendingEncode {
  readonly hash: string;
  /** Set once decoded (always before the encoder sees the entry). */
  pixels: Uint8Array | null;
  readonly indices: number[];
  readonly repaired: boolean;
}

function oneLine(err: unknown, file: string): string {
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return message.startsWith(file) ? message : `${file}: ${message}`;
}

const defaultDecode: PixelDecoder = async (data, file) => (await decodeImage(data, file)).pixels;

/**
 * Features for every path, in order: from the cache when there, else decoded and encoded in batches and cached.
 * Files with the same bytes are encoded once. A file that cannot be read or decoded gives `{ok: false, error}`
 * (one line naming it) and the rest go on; an encoder failure is thrown.
 */
export async function extractFeatures(paths: readonly string[], encoder: FeatureEncoder, opts: ExtractOptions = {}): Promise<FeatureResult[]> {
  const cache = new FeatureCache(opts.cacheDir ?? defaultCacheDir());
  const batchSize = Math.max(1, Math.floor(opts.batchSize ?? 32));
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 4));
  const decode = opts.decode ?? defaultDecode;
  const results = new Array<FeatureResult | undefined>(paths.length);
  const pending = new Map<string, PendingEncode>(); // by content hash, waiting for the encoder
  const meter = new RateMeter();
  const counts = { cached: 0, computed: 0, failed: 0 };
  let done = 0;
  let cacheWriteError: string | null = null;

  const report = (): void => {
    if (!opts.onProgress) return;
    const { rate, eta } = meter.update(done);
    const etaSeconds = eta(paths.length);
    opts.onProgress({
      task: 'extract',
      done,
      total: paths.length,
      rate,
      ...(Number.isFinite(etaSeconds) ? { etaSeconds } : {}),
      values: { ...counts },
    });
  };
  const checkCancel = async (): Promise<void> => {
    if (opts.signal?.aborted) throw new CancelledError('feature extraction cancelled');
    await opts.checkpoint?.();
    if (opts.signal?.aborted) throw new CancelledError('feature extraction cancelled');
  };

  const flush = async (limit: number): Promise<void> => {
    while (pending.size >= limit && pending.size > 0) {
      await checkCancel();
      const batch = [...pending.values()].slice(0, batchSize);
      for (const entry of batch) pending.delete(entry.hash);
      const { features } = await encoder.encode(
        batch.map((entry) => entry.pixels!),
        { topK: 0 },
      );
      if (features.length !== batch.length) throw new Error(`encoder ${encoder.id}: returned ${features.length} feature vectors for ${batch.length} images`);
      for (let b = 0; b < batch.length; b++) {
        const entry = batch[b]!;
        const vector = features[b]!;
        if (vector.length !== encoder.featureDim) throw new Error(`encoder ${encoder.id}: returned ${vector.length} features, expected ${encoder.featureDim}`);
        const copy = Float32Array.from(vector);
        // The features are in hand: a cache that cannot be written (full disk, read-only folder) costs only reuse.
        await cache.put(encoder.id, entry.hash, copy).catch((err: unknown) => {
          if (!cacheWriteError) {
            cacheWriteError = `feature cache ${cache.dir}: cannot write (${oneLine(err, cache.dir)}); features are computed but not kept`;
            opts.onWarning?.(cacheWriteError);
          }
        });
        for (const i of entry.indices) {
          results[i] = { ok: true, path: paths[i]!, contentHash: entry.hash, features: copy, source: entry.repaired ? 'repaired' : 'computed' };
          counts.computed++;
          done++;
        }
      }
      report();
    }
  };

  for (let start = 0; start < paths.length; start += batchSize) {
    await checkCancel();
    const chunk = paths.slice(start, start + batchSize);
    await mapLimit(chunk, concurrency, async (file, k) => {
      const i = start + k;
      let data: Uint8Array;
      try {
        data = await readImageFile(file);
      } catch (err) {
        results[i] = { ok: false, path: file, error: oneLine(err, file) };
        counts.failed++;
        done++;
        return;
      }
      const hash = sha256Hex(data);
      const waiting = pending.get(hash);
      if (waiting) {
        waiting.indices.push(i);
        return;
      }
      const cached = await cache.get(encoder.id, encoder.featureDim, hash);
      if (typeof cached !== 'string') {
        results[i] = { ok: true, path: file, contentHash: hash, features: cached, source: 'cache' };
        counts.cached++;
        done++;
        return;
      }
      // Another task may have started the same content while we read the cache.
      const raced = pending.get(hash);
      if (raced) {
        raced.indices.push(i);
        return;
      }
      const entry: PendingEncode = { hash, pixels: null, indices: [i], repaired: cached === 'damaged' };
      pending.set(hash, entry);
      try {
        entry.pixels = await decode(data, file);
      } catch (err) {
        pending.delete(hash);
        for (const j of entry.indices) {
          results[j] = { ok: false, path: paths[j]!, error: oneLine(err, paths[j]!) };
          counts.failed++;
          done++;
        }
      }
    });
    report();
    await flush(batchSize);
  }
  await flush(1);
  report();
  return results.map((result, i) => result ?? { ok: false, path: paths[i]!, error: `${paths[i]}: not processed` });
}
