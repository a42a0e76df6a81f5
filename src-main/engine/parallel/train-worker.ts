/**
 * One data-parallel training worker: its own wasm backend and its own replica of the decoder. Per mini-batch (one
 * 'step' message) it computes the loss and gradients of its shard (rows keyed by their index in the whole
 * mini-batch, see example-randomness.ts) and writes them into its slot of shared memory; after the barrier it sums
 * its slice [lo, hi) of all slots in worker order; after the next, it computes the global norm from every worker's
 * share and — unless the step diverged — takes the clipped Adam step for its slice of the shared weights and
 * moments (kernels/update-kernels.ts: the same float32 arithmetic as the one-thread trainer's Adam); after the
 * last, it copies the whole updated weights into its replica and replies. The protocol and the shared layout are
 * in train-protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { updateKernels } from '../kernels/update-kernels.ts';
import { clipScale } from '../optimizer.ts';
import { initBackend } from '../backend.ts';
import { packBatch } from '../decoder-batch.ts';
import { lossAndGradients } from '../decoder.ts';
import { exampleRngs } from '../example-randomness.ts';
import { DECODER_WEIGHT_NAMES, END, type DecoderWeightName, type DecoderWeights } from '../model-types.ts';
import { heapValues } from '../wasm-lstm.ts';
import { Rng } from '../../util/rng.ts';
import { threadCpuMs } from '../../util/thread-cpu.ts';
import { evenRange, paramLayout, sharedViews, type FromTrainWorker, type ShardMessage, type ToTrainWorker, type TrainWorkerInit } from './train-protocol.ts';

const port = parentPort;
if (!port) throw new Error('engine/parallel/train-worker.ts must run in a worker thread');
const init = workerData as TrainWorkerInit;
const cfg = init.decoderConfig;
const layout = paramLayout(cfg);
const P = layout.total;
const shared = sharedViews(init.shared, init.workers, P);
const { slots } = shared;
const slot = slots[init.index]!;
const kernels = updateKernels(init.shared.memory);
/** Byte offset of element k of a shared view (the kernels' pointers). */
const at = (view: Float32Array, k: number): number => view.byteOffset + 4 * k;
/** Per worker: [Σ g² of its slice, its shard's loss]. */
const stats = new Float64Array(init.shared.stats);
const arrivals = new Int32Array(init.shared.sync);
const mine = evenRange(P, init.index, init.workers);
/** Barriers this worker has passed; every worker passes the same ones in the same order. */
let barriers = 0;

function post(message: FromTrainWorker): void {
  port!.postMessage(message);
}

/** Waits until every worker has arrived here (the barriers-th time). */
function barrier(): void {
  barriers += 1;
  Atomics.add(arrivals, 0, 1);
  Atomics.notify(arrivals, 0);
  const target = barriers * init.workers;
  for (let seen = Atomics.load(arrivals, 0); seen < target; seen = Atomics.load(arrivals, 0)) Atomics.wait(arrivals, 0, seen);
}

/** The shared copy of the weights as new tensors of this worker's backend (wasm copies them into its memory). */
function sharedWeightTensors(): Record<DecoderWeightName, tf.Tensor> {
  const out = {} as Record<DecoderWeightName, tf.Tensor>;
  for (const { name, offset, size, shape } of layout.entries) out[name] = tf.tensor(shared.weights.subarray(offset, offset + size), shape);
  return out;
}

await initBackend({ prefer: 'wasm' });
/** The replica (tidy keeps the variables and frees the tensors they were made from). */
const weights = tf.tidy(() => {
  const from = sharedWeightTensors();
  const out = {} as Record<DecoderWeightName, tf.Variable>;
  for (const name of DECODER_WEIGHT_NAMES) out[name] = tf.variable(from[name], true);
  return out as DecoderWeights;
});
/** Loss and gradients of this worker's shard, gradients written into its slot (zeros for an empty shard). */
function computeShard(msg: ShardMessage): Pick<Extract<FromTrainWorker, { type: 'stepped' }>, 'loss' | 'tokens' | 'decisions' | 'teacherForced'> {
  if (msg.batchSize === 0) {
    slot.fill(0);
    return { loss: 0, tokens: 0, decisions: 0, teacherForced: 0 };
  }
  const features = tf.tensor2d(msg.features, [msg.batchSize, cfg.featureDim]);
  try {
    const batch = { features, tokens: msg.tokens, batchSize: msg.batchSize, length: msg.length };
    const pass = lossAndGradients(weights, cfg, batch, {
      epsilon: msg.epsilon,
      sampling: msg.sampling,
      training: true,
      rng: new Rng(msg.batchSeed), // unused: every row has its own generator
      rowRngs: exampleRngs(msg.batchSeed, msg.batchSize, msg.firstRow),
      gradientTokens: msg.gradientTokens,
    });
    try {
      for (const { name, offset } of layout.entries) slot.set(heapValues(pass.grads[name]), offset);
    } finally {
      tf.dispose(Object.values(pass.grads));
    }
    // The positions that drew a coin (example-randomness.ts): every step after the first whose target is not <end>.
    const pk = packBatch(batch, cfg, 'train worker');
    let decisions = 0;
    for (let t = 1; t < pk.steps; t++) for (let r = 0; r < pk.rowsAt[t]!; r++) if (pk.targets[pk.offsetAt[t]! + r] !== END) decisions++;
    return { loss: pass.loss, tokens: pass.tokens, decisions, teacherForced: Math.round(pass.teacherForcedFraction * decisions) };
  } finally {
    features.dispose();
  }
}

/** Sums this worker's slice of every slot, in worker order, into slot 0's slice (no other worker reads it); returns its Σ g² (float64). */
function reduceMySlice(): number {
  const n = mine.hi - mine.lo;
  for (let w = 1; w < init.workers; w++) kernels.addInto(at(slots[0]!, mine.lo), at(slots[w]!, mine.lo), n);
  return kernels.sumOfSquares(at(slots[0]!, mine.lo), n);
}

/** The global norm from every worker's share (summed in worker order: the same in every worker) and whether every shard's loss is finite. */
function readStats(): { norm: number; finite: boolean } {
  let squares = 0;
  let finite = true;
  for (let w = 0; w < init.workers; w++) {
    squares += stats[2 * w]!;
    if (!Number.isFinite(stats[2 * w + 1]!)) finite = false;
  }
  const norm = Math.sqrt(squares);
  return { norm, finite: finite && Number.isFinite(norm) };
}

/** Adam on this worker's slice of the shared weights and moments; once every slice is updated, the replica takes them all. */
function update(msg: ShardMessage, norm: number): void {
  const { lo, hi } = mine;
  try {
    kernels.adam(at(shared.weights, lo), at(slots[0]!, lo), at(shared.m, lo), at(shared.v, lo), hi - lo, {
      config: init.adamConfig,
      lr: msg.lr,
      step: msg.adamStep,
      scale: clipScale(norm, msg.clipNorm),
    });
  } finally {
    // Always arrive, so a failure here never leaves the other workers waiting at the barrier.
    barrier();
  }
  tf.tidy(() => {
    const from = sharedWeightTensors();
    for (const name of DECODER_WEIGHT_NAMES) weights[name].assign(from[name]);
  });
}

function step(msg: ShardMessage): FromTrainWorker {
  const cpu0 = threadCpuMs();
  const t0 = performance.now();
  let result: ReturnType<typeof computeShard> | null = null;
  let failure: string | null = null;
  try {
    result = computeShard(msg);
  } catch (err) {
    failure = (err as Error).message;
    slot.fill(0);
  }
  // Every worker passes every barrier whatever happened to it, so none is left waiting.
  const t1 = performance.now();
  barrier();
  const t2 = performance.now();
  try {
    stats[2 * init.index] = reduceMySlice();
  } catch (err) {
    failure ??= (err as Error).message;
    stats[2 * init.index] = NaN;
  }
  // A failed worker's NaN makes every worker skip the update.
  stats[2 * init.index + 1] = failure === null && result ? result.loss : NaN;
  barrier();
  const t3 = performance.now();
  // Every worker reads the same stats, so all take the same branch (and pass the same barriers).
  const { norm, finite } = readStats();
  if (finite) update(msg, norm);
  const t4 = performance.now();
  const cpu1 = threadCpuMs();
  if (failure !== null || !result) return { type: 'error', message: failure ?? 'no result' };
  return {
    type: 'stepped',
    ...result,
    gradNorm: norm,
    applied: finite,
    ms: { compute: t1 - t0, wait: t2 - t1, reduce: t3 - t2, update: t4 - t3, cpu: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null },
  };
}

port.on('message', (msg: ToTrainWorker) => {
  try {
    post(step(msg));
  } catch (err) {
    post({ type: 'error', message: (err as Error).message });
  }
});
post({ type: 'ready' });
