/**
 * One data-parallel training worker: its own wasm backend and its own replica of the decoder. Per mini-batch it
 * computes the loss and gradients of its shard (rows keyed by their index in the whole mini-batch, see
 * example-randomness.ts), writes them into its slot of shared memory, waits at the barrier for every worker, sums
 * its slice [lo, hi) of all slots in worker order into its share of the reduced gradient, and reports; then, told
 * the clip scale and learning rate, it takes the Adam step for that slice only (optimizer.ts's Adam over the flat
 * slice: the same float32 kernels as the one-thread trainer), writes the slice's new weights into the shared copy,
 * waits for every slice, and copies the whole updated weights into its replica. Its slice of Adam's moments stays
 * in its own wasm memory until the pool asks for it (`sync`). The protocol and the shared layout are in
 * train-protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.ts';
import { packBatch } from '../decoder-batch.ts';
import { lossAndGradients } from '../decoder.ts';
import { exampleRngs } from '../example-randomness.ts';
import { END, type DecoderWeights } from '../model-types.ts';
import { heapValues } from '../wasm-lstm.ts';
import { Rng } from '../../util/rng.ts';
import { threadCpuMs } from '../../util/thread-cpu.ts';
import { Adam } from '../optimizer.ts';
import { evenRange, paramLayout, type FromTrainWorker, type ShardMessage, type ToTrainWorker, type TrainWorkerInit } from './train-protocol.ts';

const port = parentPort;
if (!port) throw new Error('engine/parallel/train-worker.ts must run in a worker thread');
const init = workerData as TrainWorkerInit;
const cfg = init.decoderConfig;
const layout = paramLayout(cfg);
const P = layout.total;
const slot = new Float32Array(init.shared.grads, init.index * P * 4, P);
const slots = Array.from({ length: init.workers }, (_, w) => new Float32Array(init.shared.grads, w * P * 4, P));
const shared = { weights: new Float32Array(init.shared.weights), m: new Float32Array(init.shared.m), v: new Float32Array(init.shared.v) };
const arrivals = new Int32Array(init.shared.sync);
const mine = evenRange(P, init.index, init.workers);
/** Barriers this worker has passed; every worker passes the same ones in the same order. */
let barriers = 0;
let cpuAtLastReply = threadCpuMs();

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

/** The replica's weights as new tensors from the shared copy (tidy keeps the variables, frees the sources). */
function variablesFromShared(): DecoderWeights {
  const out = {} as Record<string, tf.Variable>;
  for (const { name, offset, size, shape } of layout.entries) out[name] = tf.variable(tf.tensor(shared.weights.subarray(offset, offset + size), shape), true);
  return out as DecoderWeights;
}

await initBackend({ prefer: 'wasm' });
const weights = tf.tidy(variablesFromShared);
/** This worker's slice of the flat weights, and Adam over it alone. */
const ownWeights = tf.tidy(() => tf.variable(tf.tensor1d(shared.weights.subarray(mine.lo, mine.hi)), false));
const ownAdam = new Adam({ slice: ownWeights }, init.adamConfig);
tf.tidy(() => ownAdam.load({ step: init.adamStep, m: { slice: tf.tensor1d(shared.m.subarray(mine.lo, mine.hi)) }, v: { slice: tf.tensor1d(shared.v.subarray(mine.lo, mine.hi)) } }));
/** The reduced gradient of this worker's slice, from the reduction until the update (or the next reduction). */
let ownGradient: tf.Tensor | null = null;

/** Loss and gradients of this worker's shard, gradients written into its slot (zeros for an empty shard). */
function computeShard(msg: ShardMessage): Omit<Extract<FromTrainWorker, { type: 'stepped' }>, 'type' | 'sumSquares' | 'ms'> {
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

/** Waits until every worker has written its slot, then sums this worker's slice of every slot, in worker order. */
function reduceMySlice(): { sumSquares: number; waited: number } {
  barrier();
  const waited = performance.now();
  ownGradient?.dispose();
  ownGradient = tf.tidy(() => {
    let sum = tf.tensor1d(slots[0]!.subarray(mine.lo, mine.hi));
    for (let w = 1; w < init.workers; w++) sum = tf.add(sum, tf.tensor1d(slots[w]!.subarray(mine.lo, mine.hi)));
    return sum;
  });
  const squares = tf.tidy(() => tf.sum(tf.square(ownGradient!)));
  const sumSquares = squares.dataSync()[0]!;
  squares.dispose();
  return { sumSquares, waited };
}

/** Adam on this worker's slice; once every slice is in the shared weights, the replica takes them all. */
function applyReduced(lr: number, scale: number, step: number): void {
  try {
    if (!ownGradient) throw new Error('no reduced gradient to apply');
    const g = ownGradient;
    tf.tidy(() => ownAdam.apply({ slice: scale === 1 ? g : tf.mul(g, scale) }, lr));
    if (ownAdam.step !== step) throw new Error(`Adam step ${ownAdam.step}, the pool's is ${step}`);
    shared.weights.set(heapValues(ownWeights), mine.lo);
  } finally {
    ownGradient?.dispose();
    ownGradient = null;
    // Always arrive, so a failure here never leaves the other workers waiting at the barrier.
    barrier();
  }
  tf.tidy(() => {
    for (const { name, offset, size, shape } of layout.entries) weights[name].assign(tf.tensor(shared.weights.subarray(offset, offset + size), shape));
  });
}

/** Writes this worker's slice of Adam's moments into shared memory. */
function shareMoments(): void {
  const s = ownAdam.state();
  shared.m.set(heapValues(s.m.slice!), mine.lo);
  shared.v.set(heapValues(s.v.slice!), mine.lo);
}

port.on('message', (msg: ToTrainWorker) => {
  try {
    switch (msg.type) {
      case 'step': {
        let result: ReturnType<typeof computeShard> | null = null;
        let failure: string | null = null;
        const t0 = performance.now();
        try {
          result = computeShard(msg);
        } catch (err) {
          failure = (err as Error).message;
          slot.fill(0);
        }
        // Always arrive, so a failure here never leaves the other workers waiting at the barrier.
        const t1 = performance.now();
        const { sumSquares, waited } = reduceMySlice();
        const cpu = threadCpuMs();
        const ms = { compute: t1 - t0, wait: waited - t1, reduce: performance.now() - waited, cpu: cpu !== null && cpuAtLastReply !== null ? cpu - cpuAtLastReply : null };
        cpuAtLastReply = cpu;
        post(failure !== null || !result ? { type: 'error', message: failure ?? 'no result' } : { type: 'stepped', ...result, sumSquares, ms });
        break;
      }
      case 'apply':
        applyReduced(msg.lr, msg.scale, msg.step);
        break;
      case 'sync':
        shareMoments();
        post({ type: 'synced' });
        break;
    }
  } catch (err) {
    post({ type: 'error', message: (err as Error).message });
  }
});
post({ type: 'ready' });
