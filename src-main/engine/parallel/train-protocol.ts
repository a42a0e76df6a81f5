/**
 * What the data-parallel training pool (train-pool.ts) and its workers (train-worker.ts) say to each other, and
 * the layout of the shared memory they reduce gradients and update the weights through.
 *
 * Shared memory (one WebAssembly memory, so the update kernels work on it in place): one gradient slot per worker,
 * each all decoder gradients flattened in DECODER_WEIGHT_NAMES order (P floats); the one current copy of the
 * weights, and Adam's moments m and v (P floats each, always current); `stats` per worker the Σ g² of its slice
 * and its shard's loss; `sync` is the barrier counter.
 * Per step (one 'step' message, one 'stepped' reply), worker w writes its slot and arrives at the barrier; sums
 * elements [lo_w, hi_w) of every slot in worker order (0, 1, …, n−1: a fixed order, so the result does not depend
 * on timing) into slot 0's elements [lo_w, hi_w), writes its stats and arrives again; then every worker computes
 * the same global norm from all stats (in worker order) and, unless the step diverged (a loss or the norm not
 * finite: then nobody applies anything), takes the clipped Adam step for its elements [lo_w, hi_w) of `weights`,
 * `m` and `v` in place (kernels/update-kernels.ts), arrives a third time and copies the whole of `weights` into its
 * replica.
 */
import type * as tf from '@tensorflow/tfjs';
import { decoderWeightShapes } from '../decoder.ts';
import { DECODER_WEIGHT_NAMES, type DecoderConfig, type DecoderWeightName } from '../model-types.ts';
import { allocateKernelMemory } from '../kernels/update-kernels.ts';
import type { AdamConfig } from '../train-config.ts';

export interface SharedBuffers {
  /**
   * The update kernels' shared WebAssembly memory (kernels/update-kernels.ts): n gradient slots of P float32 (one
   * per worker, all decoder gradients flattened in DECODER_WEIGHT_NAMES order), then the weights, Adam's first and
   * second moments (P float32 each; updated slice by slice by the workers). Where each lies: `sharedViews`.
   */
  readonly memory: WebAssembly.Memory;
  /** n × 2 float64: per worker, Σ g² over its slice of the reduced gradient and its shard's mean loss. */
  readonly stats: SharedArrayBuffer;
  /** int32 [arrivals]: the barrier (after the gradients are written, after the reduction, after the update). */
  readonly sync: SharedArrayBuffer;
}

/** Float32 views of the shared memory's parts, and their byte offsets (the kernels' pointers). */
export interface SharedViews {
  readonly slots: readonly Float32Array[];
  readonly weights: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
}

export function sharedViews(shared: SharedBuffers, workers: number, total: number): SharedViews {
  const at = (index: number): Float32Array => new Float32Array(shared.memory.buffer, index * total * 4, total);
  return { slots: Array.from({ length: workers }, (_, w) => at(w)), weights: at(workers), m: at(workers + 1), v: at(workers + 2) };
}

export interface TrainWorkerInit {
  readonly index: number;
  readonly workers: number;
  readonly decoderConfig: DecoderConfig;
  readonly adamConfig: AdamConfig;
  /** Holds the starting weights and moments. */
  readonly shared: SharedBuffers;
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
  /** Adam's step size, and the global norm the reduced gradient is clipped to (0: none). */
  readonly lr: number;
  readonly clipNorm: number;
  /** The number t of the Adam step this one applies (bias correction). */
  readonly adamStep: number;
}

export type ToTrainWorker = ShardMessage;

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
      /** Global L2 norm of the reduced gradient before clipping (every worker computes the same). */
      readonly gradNorm: number;
      /** Whether the update was applied (false: a loss or the norm was not finite, nothing changed). */
      readonly applied: boolean;
      /** Where this worker's time went: its shard's pass, waiting at the barrier, its slice of the reduction and of the update. */
      readonly ms: StepTimes;
    }
  | { readonly type: 'error'; readonly message: string };

/** Where a worker's time went in one step, in milliseconds. */
export interface StepTimes {
  /** Its shard's pass and writing its slot. */
  readonly compute: number;
  /** Waiting at the barrier for the other workers' passes. */
  readonly wait: number;
  /** Its slice of the reduction. */
  readonly reduce: number;
  /** The Adam step of its slice, waiting for every slice, and copying the new weights into its replica. */
  readonly update: number;
  /**
   * CPU time of the worker's thread in this step (not waiting): unlike the wall times, barely affected by other
   * programs. Null where the system does not report it (util/thread-cpu.ts).
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

/**
 * `parts` contiguous ranges covering [0, weights.length) whose sums of weights are as even as contiguous ranges
 * allow (each boundary at the row nearest its share of the total; a range may be empty). The pool splits a
 * mini-batch by target tokens this way, so that workers given captions of different lengths finish together.
 * All weights zero: `evenRange`'s split.
 */
export function balancedRanges(weights: ArrayLike<number>, parts: number): { lo: number; hi: number }[] {
  const n = weights.length;
  const prefix = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + weights[i]!;
  const total = prefix[n]!;
  if (!(total > 0)) return Array.from({ length: parts }, (_, w) => evenRange(n, w, parts));
  const bounds = [0];
  for (let w = 1; w < parts; w++) {
    const target = (total * w) / parts;
    let b = bounds[w - 1]!;
    while (b < n && prefix[b + 1]! <= target) b++;
    // Now prefix[b] ≤ target < prefix[b + 1]: end at b + 1 when that is nearer the target.
    if (b < n && prefix[b + 1]! - target < target - prefix[b]!) b++;
    bounds.push(b);
  }
  bounds.push(n);
  return Array.from({ length: parts }, (_, w) => ({ lo: bounds[w]!, hi: bounds[w + 1]! }));
}

export function allocateShared(workers: number, total: number): SharedBuffers {
  return {
    memory: allocateKernelMemory((workers + 3) * total * 4, `train pool of ${workers} workers`),
    stats: new SharedArrayBuffer(workers * 2 * 8),
    sync: new SharedArrayBuffer(4),
  };
}

/** Copies the tensors named in DECODER_WEIGHT_NAMES into one flat vector laid out as `layout`. */
export function writeFlat(layout: ParamLayout, tensors: Readonly<Record<string, tf.Tensor>>, into: Float32Array): void {
  for (const { name, offset } of layout.entries) into.set(tensors[name]!.dataSync() as Float32Array, offset);
}
