/**
 * The show-and-tell decoder: word embedding, one LSTM layer whose gate pre-activations receive the image
 * feature as v·W_v (at every step, or only at t = 0), and a softmax output layer. Built from low-level tfjs
 * ops so scheduled sampling controls every step; gradients are hand-written (decoder-train.ts).
 *
 * Public API: `initDecoderWeights`, `lossAndGradients` (training), `evaluateLoss` (validation) and
 * `createStepModel` (the decoding seam for greedy, beam search and sampling).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';
import { packBatch } from './decoder-batch.ts';
import { hasSyncReads } from './webgpu-backend.ts';
import { teacherForcedLoss, trainingPass, zeroGrads, type LossAndGradients, type TrainingPassOptions } from './decoder-train.ts';
import {
  DECODER_WEIGHT_NAMES,
  type CaptionBatch,
  type DecoderConfig,
  type DecoderWeightName,
  type DecoderWeights,
  type StepModel,
} from './model-types.ts';

export type { LossAndGradients, TrainingPassOptions } from './decoder-train.ts';

/** Half-width of the uniform initialisation of every weight matrix (Sutskever et al. 2014). */
export const INIT_RANGE = 0.08;

/** The shape of every decoder weight for a config. */
export function decoderWeightShapes(cfg: DecoderConfig): Record<DecoderWeightName, number[]> {
  const { vocabSize: V, embedDim: E, hiddenDim: H, featureDim: F } = cfg;
  return { embedding: [V, E], W_x: [E, 4 * H], W_h: [H, 4 * H], W_v: [F, 4 * H], b: [4 * H], W_out: [H, V], b_out: [V] };
}

/** Number of trainable parameters: V·E + (E + H + F + 1)·4H + (H + 1)·V. */
export function countDecoderParameters(cfg: DecoderConfig): number {
  let total = 0;
  for (const shape of Object.values(decoderWeightShapes(cfg))) total += shape.reduce((a, b) => a * b, 1);
  return total;
}

/** Throws a one-line Error when a config cannot describe a decoder. */
export function validateDecoderConfig(cfg: DecoderConfig): void {
  for (const key of ['vocabSize', 'embedDim', 'hiddenDim', 'featureDim'] as const) {
    const v = cfg[key];
    if (!Number.isInteger(v) || v < 1) throw new Error(`decoder config: ${key} must be a positive integer, got ${v}`);
  }
  if (cfg.vocabSize < 4) throw new Error(`decoder config: vocabSize must include the 4 special tokens, got ${cfg.vocabSize}`);
  if (cfg.injection !== 'every' && cfg.injection !== 'init') {
    throw new Error(`decoder config: injection must be 'every' or 'init', got '${String(cfg.injection)}'`);
  }
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw new Error(`decoder config: dropout must be in [0, 1), got ${cfg.dropout}`);
}

/**
 * Fresh trainable weights: every matrix uniform in ±INIT_RANGE, gate bias 0 except the forget gate's 1,
 * output bias 0. Deterministic in `seed`. The caller owns the variables (dispose with `disposeDecoderWeights`).
 */
export function initDecoderWeights(cfg: DecoderConfig, seed: number): DecoderWeights {
  validateDecoderConfig(cfg);
  const rng = new Rng(seed);
  const shapes = decoderWeightShapes(cfg);
  const H = cfg.hiddenDim;
  const uniform = (shape: number[]): tf.Variable => {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    for (let k = 0; k < size; k++) data[k] = (rng.next() * 2 - 1) * INIT_RANGE;
    return tf.variable(tf.tensor(data, shape), true);
  };
  const gateBias = new Float32Array(4 * H);
  gateBias.fill(1, H, 2 * H);
  // tidy frees the initial-value tensors (the variables hold their own reference to the data).
  return tf.tidy(() => ({
    embedding: uniform(shapes.embedding),
    W_x: uniform(shapes.W_x),
    W_h: uniform(shapes.W_h),
    W_v: uniform(shapes.W_v),
    b: tf.variable(tf.tensor1d(gateBias), true),
    W_out: uniform(shapes.W_out),
    b_out: tf.variable(tf.zeros([cfg.vocabSize]), true),
  }));
}

/** Disposes every weight variable. */
export function disposeDecoderWeights(weights: DecoderWeights): void {
  for (const name of DECODER_WEIGHT_NAMES) weights[name].dispose();
}

/**
 * One training pass over a batch: masked mean softmax cross-entropy per target token and its gradients for
 * every weight, with scheduled sampling (Bengio et al. 2015) and, when `training`, dropout. For each position
 * t ≥ 1 and row, with probability ε the true previous word is fed, otherwise a word drawn from (or the argmax
 * of) the model's own previous output distribution (as computed in this pass, dropout included); no gradient
 * flows through that choice. A position counts
 * while its target is a word or the first <end>; tokens after <end> never matter. All randomness comes from
 * `opts.rng`. The grads are new tensors the caller disposes.
 */
export function lossAndGradients(
  weights: DecoderWeights,
  cfg: DecoderConfig,
  batch: CaptionBatch,
  opts: TrainingPassOptions,
): LossAndGradients {
  validateDecoderConfig(cfg);
  if (!(opts.epsilon >= 0 && opts.epsilon <= 1)) {
    throw new Error(`decoder.lossAndGradients: epsilon must be in [0, 1], got ${opts.epsilon}`);
  }
  const pk = packBatch(batch, cfg, 'decoder.lossAndGradients');
  if (pk.tokens === 0) return { loss: 0, tokens: 0, grads: zeroGrads(weights), teacherForcedFraction: 1 };
  return trainingPass(weights, cfg, batch, pk, opts);
}

/** Teacher-forced mean cross-entropy per target token (no dropout), and the number of target tokens. */
export function evaluateLoss(weights: DecoderWeights, cfg: DecoderConfig, batch: CaptionBatch): { loss: number; tokens: number } {
  validateDecoderConfig(cfg);
  const pk = packBatch(batch, cfg, 'decoder.evaluateLoss');
  if (pk.tokens === 0) return { loss: 0, tokens: 0 };
  return { loss: teacherForcedLoss(weights, cfg, batch, pk), tokens: pk.tokens };
}

/**
 * The LSTM state of a set of rows. `inject` is the image term v·W_v + b each row adds to its gates: carried at
 * every step with injection 'every', present only in the initial state with 'init' (null afterwards).
 */
export interface LstmState {
  readonly h: tf.Tensor2D;
  readonly c: tf.Tensor2D;
  readonly inject: tf.Tensor2D | null;
}

/**
 * The decoding seam over a set of images (`features` [rows, F], owned by the caller and kept alive while the
 * model is used). `step` returns log-softmax rows; states are new tensors the caller disposes. The model
 * itself holds no tensors.
 */
export function createStepModel(weights: DecoderWeights, cfg: DecoderConfig, features: tf.Tensor2D): StepModel<LstmState> {
  validateDecoderConfig(cfg);
  const [rows, F] = features.shape;
  if (F !== cfg.featureDim) {
    throw new Error(`decoder.createStepModel: features have ${F} columns, the decoder expects featureDim ${cfg.featureDim}`);
  }
  const V = cfg.vocabSize;
  const H = cfg.hiddenDim;
  /** The step's tensors: the new state and the logits (which the caller reads and disposes). */
  const advance = (tokens: Int32Array, state: LstmState): { logits: tf.Tensor2D; state: LstmState } => {
    const n = state.h.shape[0];
    if (tokens.length !== n) throw new Error(`decoder.step: got ${tokens.length} tokens for a state of ${n} rows`);
    for (const id of tokens) {
      if (!(id >= 0 && id < V)) throw new Error(`decoder.step: token id ${id} is outside the vocabulary [0, ${V})`);
    }
    const [h, c, logits, inject] = tf.tidy(() => {
      const x = tf.gather(weights.embedding, tf.tensor1d(tokens, 'int32'));
      let pre = tf.add(tf.matMul(x, weights.W_x), tf.matMul(state.h, weights.W_h));
      pre = tf.add(pre, state.inject ?? weights.b);
      const s = tf.sigmoid(pre);
      const i = tf.slice(s, [0, 0], [n, H]);
      const f = tf.slice(s, [0, H], [n, H]);
      const o = tf.slice(s, [0, 3 * H], [n, H]);
      const g = tf.tanh(tf.slice(pre, [0, 2 * H], [n, H]));
      const c = tf.add(tf.mul(f, state.c), tf.mul(i, g));
      const h = tf.mul(o, tf.tanh(c));
      const logits = tf.add(tf.matMul(h, weights.W_out), weights.b_out);
      // 'every' carries the image term on (a clone shares the data, so each state owns its own handle).
      return cfg.injection === 'every' && state.inject ? [h, c, logits, tf.clone(state.inject)] : [h, c, logits];
    }) as tf.Tensor2D[];
    return { logits: logits!, state: { h: h!, c: c!, inject: inject ?? null } };
  };
  return {
    vocabSize: V,
    rows,
    initialState(): LstmState {
      const [h, c, inject] = tf.tidy(() => [
        tf.zeros([rows, H]),
        tf.zeros([rows, H]),
        tf.add(tf.matMul(features, weights.W_v), weights.b),
      ]) as tf.Tensor2D[];
      return { h: h!, c: c!, inject: inject! };
    },
    step(tokens: Int32Array, state: LstmState) {
      if (!hasSyncReads()) throw new Error(`decoder.step: the ${tf.getBackend()} backend has no synchronous reads; decode with the async functions (stepAsync)`);
      const out = advance(tokens, state);
      try {
        return { logProbs: logSoftmaxRows(out.logits.dataSync() as Float32Array, V), state: out.state };
      } catch (err) {
        disposeLstmState(out.state);
        throw err;
      } finally {
        out.logits.dispose();
      }
    },
    async stepAsync(tokens: Int32Array, state: LstmState) {
      const out = advance(tokens, state);
      try {
        // The one read of the step: the state stays on the device.
        return { logProbs: logSoftmaxRows((await out.logits.data()) as Float32Array, V), state: out.state };
      } catch (err) {
        disposeLstmState(out.state);
        throw err;
      } finally {
        out.logits.dispose();
      }
    },
    select(state: LstmState, pick: Int32Array): LstmState {
      const n = state.h.shape[0];
      for (const r of pick) if (!(r >= 0 && r < n)) throw new Error(`decoder.select: row ${r} is outside the state's ${n} rows`);
      const [h, c, inject] = tf.tidy(() => {
        const idx = tf.tensor1d(pick, 'int32');
        const gathered = [tf.gather(state.h, idx), tf.gather(state.c, idx)];
        if (state.inject) gathered.push(tf.gather(state.inject, idx));
        return gathered;
      }) as tf.Tensor2D[];
      return { h: h!, c: c!, inject: inject ?? null };
    },
    dispose: disposeLstmState,
  };
}

function disposeLstmState(state: LstmState): void {
  state.h.dispose();
  state.c.dispose();
  state.inject?.dispose();
}

/** Row-wise log-softmax in float64 arithmetic, written back as float32. */
function logSoftmaxRows(logits: Float32Array, V: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let off = 0; off < logits.length; off += V) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[off + v]!);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[off + v]! - max);
    const lse = max + Math.log(sum);
    for (let v = 0; v < V; v++) out[off + v] = logits[off + v]! - lse;
  }
  return out;
}
