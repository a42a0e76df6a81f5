/**
 * One data-parallel training worker: its own wasm backend and its own replica of the decoder and of Adam. Per
 * mini-batch it computes the loss and gradients of its shard (rows keyed by their index in the whole mini-batch,
 * see example-randomness.ts), writes them into its slot of shared memory, waits at the barrier for every worker,
 * sums its slice of all slots in worker order into the reduced gradient, and reports; then, told the clip scale
 * and learning rate, it applies the reduced gradient with the same Adam step every replica takes.
 * The protocol and the shared layout are in train-protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.ts';
import { packBatch } from '../decoder-batch.ts';
import { lossAndGradients } from '../decoder.ts';
import { exampleRngs } from '../example-randomness.ts';
import { END, type DecoderWeights } from '../model-types.ts';
import { Adam } from '../optimizer.ts';
import { Rng } from '../../util/rng.ts';
import {
  evenRange,
  flatParams,
  paramLayout,
  type FlatParams,
  type FromTrainWorker,
  type ShardMessage,
  type ToTrainWorker,
  type TrainWorkerInit,
} from './train-protocol.ts';

const port = parentPort;
if (!port) throw new Error('engine/parallel/train-worker.ts must run in a worker thread');
const init = workerData as TrainWorkerInit;
const cfg = init.decoderConfig;
const layout = paramLayout(cfg);
const P = layout.total;
const slot = new Float32Array(init.shared.grads, init.index * P * 4, P);
const slots = Array.from({ length: init.workers }, (_, w) => new Float32Array(init.shared.grads, w * P * 4, P));
const reduced = new Float32Array(init.shared.reduced);
const arrivals = new Int32Array(init.shared.sync);
const mine = evenRange(P, init.index, init.workers);

function post(message: FromTrainWorker): void {
  port!.postMessage(message);
}

function variablesOf(flat: FlatParams): DecoderWeights {
  const out = {} as Record<string, tf.Variable>;
  for (const { name, shape } of layout.entries) out[name] = tf.variable(tf.tensor(flat[name], shape), true);
  return out as DecoderWeights;
}

await initBackend({ prefer: 'wasm' });
const weights = tf.tidy(() => variablesOf(init.weights));
const adam = new Adam(weights, init.adamConfig);
tf.tidy(() => {
  const m = {} as Record<string, tf.Tensor>;
  const v = {} as Record<string, tf.Tensor>;
  for (const { name, shape } of layout.entries) {
    m[name] = tf.tensor(init.adam.m[name], shape);
    v[name] = tf.tensor(init.adam.v[name], shape);
  }
  adam.load({ step: init.adam.step, m, v });
});

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
      for (const { name, offset } of layout.entries) slot.set(pass.grads[name].dataSync() as Float32Array, offset);
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

/** Waits until every worker has written its slot for this generation, then sums this worker's slice. */
function reduceMySlice(generation: number): { sumSquares: number; waited: number } {
  Atomics.add(arrivals, 0, 1);
  Atomics.notify(arrivals, 0);
  const target = generation * init.workers;
  for (let seen = Atomics.load(arrivals, 0); seen < target; seen = Atomics.load(arrivals, 0)) Atomics.wait(arrivals, 0, seen);
  const waited = performance.now();
  let sumSquares = 0;
  for (let k = mine.lo; k < mine.hi; k++) {
    let sum = slots[0]![k]!;
    for (let w = 1; w < init.workers; w++) sum += slots[w]![k]!;
    reduced[k] = sum;
    const stored = reduced[k]!;
    sumSquares += stored * stored;
  }
  return { sumSquares, waited };
}

function applyReduced(lr: number, scale: number): void {
  tf.tidy(() => {
    const grads = {} as Record<string, tf.Tensor>;
    for (const { name, offset, size, shape } of layout.entries) {
      const g = tf.tensor(reduced.subarray(offset, offset + size), shape);
      grads[name] = scale === 1 ? g : tf.mul(g, scale);
    }
    adam.apply(grads, lr);
  });
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
        const { sumSquares, waited } = reduceMySlice(msg.generation);
        const ms = { compute: t1 - t0, wait: waited - t1, reduce: performance.now() - waited };
        post(failure !== null || !result ? { type: 'error', message: failure ?? 'no result' } : { type: 'stepped', ...result, sumSquares, ms });
        break;
      }
      case 'apply':
        applyReduced(msg.lr, msg.scale);
        break;
      case 'state': {
        const s = adam.state();
        post({ type: 'state', weights: flatParams(weights), adam: { step: s.step, m: flatParams(s.m), v: flatParams(s.v) } });
        break;
      }
    }
  } catch (err) {
    post({ type: 'error', message: (err as Error).message });
  }
});
post({ type: 'ready' });
