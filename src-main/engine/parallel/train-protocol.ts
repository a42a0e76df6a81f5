/**
 * What the data-parallel training pool (train-pool.ts) and its workers (train-worker.ts) say to each other, and
 * the layout of the shared memory they reduce gradients through.
 *
 * Shared memory: `grads` holds one slot per worker, each all decoder gradients flattened in DECODER_WEIGHT_NAMES
 * order (P floats); `reduced` holds their sum (P floats); `sync` is the barrier counter. Worker w writes its slot,
 * arrives at the barrier, then sums elements [lo_w, hi_w) of every slot in worker order (0, 1, …, n−1) into
 * `reduced` — a fixed summation order, so the result does not depend on timing.
 */
import type * as tf from '@tensorflow/tfjs';
import { decoderWeightShapes } from '../decoder.ts';
import { DECODER_WEIGHT_NAMES, type DecoderConfig, type DecoderWeightName } from '../model-types.ts';
import type { AdamConfig } from '../train-config.ts';

/** Flat per-parameter arrays, in DECODER_WEIGHT_NAMES order when iterated. */
export type FlatParams = Record<DecoderWeightName, Float32Array>;

/** A replica's optimiser state in flat form. */
export interface FlatAdamState {
  readonly step: number;
  readonly m: FlatParams;
  readonly v: FlatParams;
}

export interface SharedBuffers {
  /** n × P float32: one gradient slot per worker. */
  readonly grads: SharedArrayBuffer;
  /** P float32: the reduced gradient. */
  readonly reduced: SharedArrayBuffer;
  /** int32 [arrivals]: the barrier before the reduction. */
  readonly sync: SharedArrayBuffer;
}

export interface TrainWorkerInit {
  readonly index: number;
  readonly workers: number;
  readonly decoderConfig: DecoderConfig;
  readonly adamConfig: AdamConfig;
  readonly weights: FlatParams;
  readonly adam: FlatAdamState;
  readonly shared: SharedBuffers;
}

/** A worker's share of a mini-batch: rows firstRow … firstRow + batchSize − 1 (batchSize may be 0). */
export interface ShardMessage {
  readonly type: 'step';
  /** 1 for the first step of the pool, then +1 per step: the barrier waits for generation × workers arrivals. */
  readonly generation: number;
  readonly features: Float32Array;
  readonly tokens: Int32Array;
  readonly batchSize: number;
  readonly length: number;
  readonly firstRow: number;
  readonly batchSeed: number;
  readonly epsilon: number;
  readonly sampling: 'sample' | 'argmax';
  /** Target tokens of the whole mini-batch: every shard's gradients are divided by it, so they add up. */
  readonly gradientTokens: number;
}

export type ToTrainWorker =
  | ShardMessage
  /** Apply the reduced gradient, times `scale` (the global-norm clip), with one Adam step of size lr. */
  | { readonly type: 'apply'; readonly lr: number; readonly scale: number }
  /** Send the replica's weights and optimiser state. */
  | { readonly type: 'state' };

export type FromTrainWorker =
  | { readonly type: 'ready' }
  | {
      readonly type: 'stepped';
      /** Mean cross-entropy over this shard's tokens (0 when it has none). */
      readonly loss: number;
      readonly tokens: number;
      /** Positions t ≥ 1 and how many of them were fed the true word. */
      readonly decisions: number;
      readonly teacherForced: number;
      /** Σ g² over this worker's slice of the reduced gradient (float64). */
      readonly sumSquares: number;
      /** Where this worker's time went: its shard's pass, waiting at the barrier, its slice of the reduction. */
      readonly ms: StepTimes;
    }
  | { readonly type: 'state'; readonly weights: FlatParams; readonly adam: FlatAdamState }
  | { readonly type: 'error'; readonly message: string };

export interface StepTimes {
  readonly compute: number;
  readonly wait: number;
  readonly reduce: number;
}

/** Where each parameter lives in a flat gradient vector. */
export interface ParamLayout {
  readonly total: number;
  readonly entries: readonly { readonly name: DecoderWeightName; readonly offset: number; readonly size: number; readonly shape: number[] }[];
}

export function paramLayout(cfg: DecoderConfig): ParamLayout {
  const shapes = decoderWeightShapes(cfg);
  let offset = 0;
  const entries = DECODER_WEIGHT_NAMES.map((name) => {
    const shape = shapes[name];
    const size = shape.reduce((a, b) => a * b, 1);
    const entry = { name, offset, size, shape };
    offset += size;
    return entry;
  });
  return { total: offset, entries };
}

/**
 * Part `index` of `parts` of the range [0, count): contiguous, sizes differ by at most one. Gives both a worker's
 * rows of a mini-batch and its slice of the gradient vector to reduce.
 */
export function evenRange(count: number, index: number, parts: number): { lo: number; hi: number } {
  return { lo: Math.floor((index * count) / parts), hi: Math.floor(((index + 1) * count) / parts) };
}

export function allocateShared(workers: number, total: number): SharedBuffers {
  return {
    grads: new SharedArrayBuffer(workers * total * 4),
    reduced: new SharedArrayBuffer(total * 4),
    sync: new SharedArrayBuffer(4),
  };
}

/** Copies of the decoder tensors named in DECODER_WEIGHT_NAMES (weights, gradients or Adam moments) as flat arrays. */
export function flatParams(tensors: Readonly<Record<string, tf.Tensor>>): FlatParams {
  const out = {} as Record<string, Float32Array>;
  for (const name of DECODER_WEIGHT_NAMES) out[name] = (tensors[name]!.dataSync() as Float32Array).slice();
  return out as FlatParams;
}
