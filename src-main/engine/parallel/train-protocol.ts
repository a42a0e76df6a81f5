/**
 * What the data-parallel training pool (train-pool.ts) and its workers (train-worker.ts) say to each other, and
 * the layout of the shared memory they reduce gradients and update the weights through.
 *
 * Shared memory: `grads` holds one slot per worker, each all decoder gradients flattened in DECODER_WEIGHT_NAMES
 * order (P floats); `weights` the one current copy of the weights, `m` and `v` Adam's moments (P floats each; the
 * moments only at the start and when the pool asks for them); `sync` is the barrier counter. Per step, worker w
 * writes its slot, arrives at the barrier, then sums elements [lo_w, hi_w) of every slot in worker order
 * (0, 1, …, n−1) — a fixed summation order, so the result does not depend on timing. Told the clip scale, it
 * takes the Adam step for its elements [lo_w, hi_w) only, writes them into `weights`, arrives at the barrier
 * again, and copies the whole of `weights` into its replica.
 */
import type * as tf from '@tensorflow/tfjs';
import { decoderWeightShapes } from '../decoder.ts';
import { DECODER_WEIGHT_NAMES, type DecoderConfig, type DecoderWeightName } from '../model-types.ts';
import type { AdamConfig } from '../train-config.ts';

export interface SharedBuffers {
  /** n × P float32: one gradient slot per worker. */
  readonly grads: SharedArrayBuffer;
  /** P float32 each: the weights (updated slice by slice by the workers), Adam's first and second moments. */
  readonly weights: SharedArrayBuffer;
  readonly m: SharedArrayBuffer;
  readonly v: SharedArrayBuffer;
  /** int32 [arrivals]: the barrier (after the gradients are written, and after the update). */
  readonly sync: SharedArrayBuffer;
}

export interface TrainWorkerInit {
  readonly index: number;
  readonly workers: number;
  readonly decoderConfig: DecoderConfig;
  readonly adamConfig: AdamConfig;
  /** Holds the starting weights and moments. */
  readonly shared: SharedBuffers;
  /** Adam steps taken before (the bias correction's t). */
  readonly adamStep: number;
}

/** A worker's share of a mini-batch: rows firstRow … firstRow + batchSize − 1 (batchSize may be 0). */
export interface ShardMessage {
  readonly type: 'step';
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
  /** Apply the reduced gradient, times `scale` (the global-norm clip), with Adam step number `step` of size lr. */
  | { readonly type: 'apply'; readonly lr: number; readonly scale: number; readonly step: number }
  /** Write this worker's slice of Adam's moments into shared memory and answer 'synced' (after every update sent before). */
  | { readonly type: 'sync' };

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
  | { readonly type: 'synced' }
  | { readonly type: 'error'; readonly message: string };

export interface StepTimes {
  readonly compute: number;
  readonly wait: number;
  readonly reduce: number;
  /**
   * CPU time of the worker's thread since its previous step's reply (the previous update, this pass and this
   * reduction; not waiting): unlike the wall times, barely affected by other programs. Null where the system
   * does not report it (util/thread-cpu.ts).
   */
  readonly cpu: number | null;
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
    weights: new SharedArrayBuffer(total * 4),
    m: new SharedArrayBuffer(total * 4),
    v: new SharedArrayBuffer(total * 4),
    sync: new SharedArrayBuffer(4),
  };
}

/** Copies the tensors named in DECODER_WEIGHT_NAMES into one flat vector laid out as `layout`. */
export function writeFlat(layout: ParamLayout, tensors: Readonly<Record<string, tf.Tensor>>, into: Float32Array): void {
  for (const { name, offset } of layout.entries) into.set(tensors[name]!.dataSync() as Float32Array, offset);
}
