/**
 * Data-parallel training on every core: a pool of worker threads (train-worker.ts), each with its own wasm
 * backend and a replica of the decoder. Per mini-batch the pool splits the rows into one contiguous shard per
 * worker (of about as many target tokens each), the workers compute their shards' gradients and reduce them
 * through shared memory in a fixed order (train-protocol.ts), each computes the same global norm of the reduced
 * gradient, and — unless the step diverged — each takes the clipped Adam step (kernels/update-kernels.ts) for its
 * own slice of the one shared copy of the weights and moments, and every replica then copies the new weights: the
 * replicas stay identical and no update is computed twice. One message per worker and step, no round trip through this thread in between. The
 * caller's own weights and optimiser (the trainer's) are brought up to date with `syncInto` only when it needs
 * them (validation, checkpoints), from shared memory.
 */
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { packBatch } from '../decoder-batch.ts';
import { type CaptionBatch, type DecoderConfig, type DecoderWeights } from '../model-types.ts';
import type { Adam } from '../optimizer.ts';
import type { AdamConfig } from '../train-config.ts';
import {
  allocateShared,
  balancedRanges,
  sharedViews,
  paramLayout,
  writeFlat,
  type FromTrainWorker,
  type ParamLayout,
  type SharedBuffers,
  type ShardMessage,
  type StepTimes,
  type ToTrainWorker,
  type TrainWorkerInit,
} from './train-protocol.ts';

/** What one optimisation step measured. */
export interface PoolStep {
  /** Mean cross-entropy per target token over the whole mini-batch. */
  readonly loss: number;
  readonly tokens: number;
  readonly teacherForcedFraction: number;
  /** Global L2 norm of the reduced gradient, before clipping. */
  readonly gradNorm: number;
  /** Per worker: where its time went (pool only). */
  readonly workerMs?: readonly StepTimes[];
}

export interface TrainPoolOptions {
  readonly workers: number;
  readonly decoderConfig: DecoderConfig;
  readonly adamConfig: AdamConfig;
  /** The starting weights and optimiser state every replica copies. */
  readonly weights: DecoderWeights;
  readonly adam: Adam;
}

/** Where a training worker's code is and how to start it (source with the TypeScript loader, or the bundle). */
function trainWorkerUrl(): URL {
  if (import.meta.url.endsWith('.ts')) return new URL('./train-worker-boot.mjs', import.meta.url);
  // Bundled: this code lives in out/main/index.js (or job-worker.js), the worker in out/main/train-worker.js.
  return new URL('./train-worker.js', import.meta.url);
}

type Waiter = { resolve: (message: FromTrainWorker) => void; reject: (err: Error) => void };

/** One worker thread and the replies it owes, in order. */
class Replica {
  private readonly waiting: Waiter[] = [];
  failure: Error | null = null;

  constructor(
    readonly worker: Worker,
    onFailure: (err: Error) => void,
  ) {
    worker.on('message', (message: FromTrainWorker) => {
      if (message.type === 'error') {
        onFailure(new Error(`training worker: ${message.message}`));
        return;
      }
      this.waiting.shift()?.resolve(message);
    });
    worker.on('error', (err) => onFailure(new Error(`training worker crashed: ${err.message.split('\n')[0]}`)));
    worker.on('exit', (code) => onFailure(new Error(`training worker stopped (exit code ${code})`)));
  }

  /** The next reply (of the given type). */
  reply<T extends FromTrainWorker['type']>(type: T): Promise<Extract<FromTrainWorker, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({
        resolve: (m) => (m.type === type ? resolve(m as Extract<FromTrainWorker, { type: T }>) : reject(new Error(`training worker: expected ${type}, got ${m.type}`))),
        reject,
      });
    });
  }

  send(message: ToTrainWorker): void {
    this.worker.postMessage(message);
  }

  fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }
}

export class TrainPool {
  private failure: Error | null = null;
  private closed = false;

  private constructor(
    private readonly replicas: Replica[],
    private readonly cfg: DecoderConfig,
    private readonly layout: ParamLayout,
    private readonly shared: SharedBuffers,
    /** Adam steps taken so far. */
    private adamStep: number,
  ) {}

  /** Starts `workers` threads with copies of the given weights and optimiser state; resolves when all are ready. */
  static async start(opts: TrainPoolOptions): Promise<TrainPool> {
    if (!(Number.isInteger(opts.workers) && opts.workers >= 2)) throw new Error(`train pool: needs at least 2 workers, got ${opts.workers}`);
    const layout = paramLayout(opts.decoderConfig);
    const shared = allocateShared(opts.workers, layout.total);
    const state = opts.adam.state();
    const views = sharedViews(shared, opts.workers, layout.total);
    writeFlat(layout, opts.weights, views.weights);
    writeFlat(layout, state.m, views.m);
    writeFlat(layout, state.v, views.v);
    const replicas: Replica[] = [];
    let pool: TrainPool | null = null;
    const onFailure = (err: Error): void => pool?.fail(err) ?? replicas.forEach((r) => r.fail(err));
    for (let index = 0; index < opts.workers; index++) {
      const init: TrainWorkerInit = { index, workers: opts.workers, decoderConfig: opts.decoderConfig, adamConfig: opts.adamConfig, shared };
      const worker = new Worker(trainWorkerUrl(), { workerData: init });
      replicas.push(new Replica(worker, onFailure));
    }
    pool = new TrainPool(replicas, opts.decoderConfig, layout, shared, state.step);
    try {
      await Promise.all(replicas.map((r) => r.reply('ready')));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get workers(): number {
    return this.replicas.length;
  }

  /**
   * One optimisation step of one mini-batch over all workers: loss, reduced gradient, and — unless a loss or the
   * gradient norm is not finite, when nothing changes — the Adam step of size lr with the gradient clipped to
   * global norm `clipNorm` (0: none). `batchSeed` keys every row's randomness (rows are numbered across the whole
   * mini-batch).
   */
  async step(
    batch: CaptionBatch,
    opts: { readonly batchSeed: number; readonly epsilon: number; readonly sampling: 'sample' | 'argmax'; readonly lr: number; readonly clipNorm: number },
  ): Promise<PoolStep> {
    this.throwIfFailed();
    const packed = packBatch(batch, this.cfg, 'train pool');
    const gradientTokens = packed.tokens;
    const F = this.cfg.featureDim;
    const L = batch.length;
    const features = batch.features.dataSync() as Float32Array;
    // Shards of about as many target tokens each (captions differ in length), not of as many rows.
    const shards = balancedRanges(packed.lengths, this.replicas.length);
    const replies = this.replicas.map((replica, w) => {
      const { lo, hi } = shards[w]!;
      const message: ShardMessage = {
        type: 'step',
        features: features.slice(lo * F, hi * F),
        tokens: batch.tokens.slice(lo * L, hi * L),
        batchSize: hi - lo,
        length: L,
        firstRow: lo,
        batchSeed: opts.batchSeed,
        epsilon: opts.epsilon,
        sampling: opts.sampling,
        gradientTokens,
        lr: opts.lr,
        clipNorm: opts.clipNorm,
        adamStep: this.adamStep + 1,
      };
      const reply = replica.reply('stepped');
      replica.send(message);
      return reply;
    });
    const results = await Promise.all(replies);
    let lossSum = 0;
    let tokens = 0;
    let decisions = 0;
    let forced = 0;
    for (const r of results) {
      lossSum += r.loss * r.tokens;
      tokens += r.tokens;
      decisions += r.decisions;
      forced += r.teacherForced;
    }
    // Every worker computed the same norm and made the same decision.
    if (results[0]!.applied) this.adamStep += 1;
    return {
      loss: tokens > 0 ? lossSum / tokens : 0,
      tokens,
      teacherForcedFraction: decisions > 0 ? forced / decisions : 1,
      gradNorm: results[0]!.gradNorm,
      workerMs: results.map((r) => r.ms),
    };
  }

  /** Copies the shared weights and optimiser state into the caller's (call between steps). */
  async syncInto(weights: DecoderWeights, adam: Adam): Promise<void> {
    this.throwIfFailed();
    const flat = sharedViews(this.shared, this.replicas.length, this.layout.total);
    tf.tidy(() => {
      const m: Record<string, tf.Tensor> = {};
      const v: Record<string, tf.Tensor> = {};
      for (const { name, offset, size, shape } of this.layout.entries) {
        weights[name].assign(tf.tensor(flat.weights.slice(offset, offset + size), shape));
        m[name] = tf.tensor(flat.m.slice(offset, offset + size), shape);
        v[name] = tf.tensor(flat.v.slice(offset, offset + size), shape);
      }
      adam.load({ step: this.adamStep, m, v });
    });
  }

  /** Stops every worker. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new Error('train pool: closed'));
    await Promise.all(this.replicas.map((r) => r.worker.terminate()));
  }

  private fail(err: Error): void {
    if (!this.closed) this.failure ??= err;
    for (const r of this.replicas) r.fail(this.failure ?? err);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new Error('train pool: closed');
  }
}

/**
 * A pool of `workers` training workers, or null to train in this thread: with one worker, or when this process
 * does not run on wasm (the native and GPU backends use every core themselves; the workers always run wasm).
 */
export async function startTrainPool(workers: number, opts: Omit<TrainPoolOptions, 'workers'>): Promise<TrainPool | null> {
  if (!(Number.isInteger(workers) && workers >= 1)) throw new Error(`train: workers must be a positive integer, got ${workers}`);
  if (workers === 1 || tf.getBackend() !== 'wasm') return null;
  return TrainPool.start({ ...opts, workers });
}
