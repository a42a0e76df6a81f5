/**
 * The decoder's training pass for backends without synchronous reads (webgpu in Node): every tensor stays on the
 * device and the pass reads back asynchronously — once per pass for the loss, plus once per time step only where
 * scheduled sampling feeds the model's own word. Same maths and same randomness as decoder-train.ts (each row's
 * masks, coins and samples from its own generator, example-randomness.ts), but built from plain tfjs ops with
 * tfjs's automatic differentiation instead of hand-written backpropagation:
 *   1. masks and coins per row; then, where a coin says "model's word", a forward pass without gradients, step by
 *      step, reading each step's output to choose the words (sampled with the row's generator, or argmax);
 *   2. with the fed words fixed, the loss Σ −log p(target) / tokens through tf.variableGrads.
 * No gradient flows through the choice of words, so (2) gives exactly the gradients of the one-pass version.
 */
import * as tf from '@tensorflow/tfjs';
import { packBatch, type PackedBatch } from './decoder-batch.ts';
import { argmax, dropoutMask, sampleFrom, zeroGrads, type LossAndGradients, type TrainingPassOptions } from './decoder-train.ts';
import { drawPerRow, type PassRandomness } from './example-randomness.ts';
import { validateDecoderConfig } from './decoder.ts';
import { DECODER_WEIGHT_NAMES, type CaptionBatch, type DecoderConfig, type DecoderGrads, type DecoderWeights } from './model-types.ts';

/** The inputs of the forward pass that no gradient flows into. */
interface PassInputs {
  readonly pk: PackedBatch;
  /** The word fed at each packed position. */
  readonly fed: Int32Array;
  readonly rnd: PassRandomness;
  /** Features of the sorted rows that have at least one step, [n_0, F]. */
  readonly feats: tf.Tensor2D;
}

/** The LSTM state after step t (the first n_t rows). */
interface StepState {
  readonly h: tf.Tensor2D;
  readonly c: tf.Tensor2D;
}

/**
 * One LSTM step of the packed batch: log-probabilities of step t's rows [n_t, V] and the new state. Call inside
 * tf.tidy (or variableGrads).
 */
function step(w: DecoderWeights, cfg: DecoderConfig, inp: PassInputs, image: tf.Tensor2D, t: number, prev: StepState | null): { logp: tf.Tensor2D; state: StepState } {
  const { E, H } = { E: cfg.embedDim, H: cfg.hiddenDim };
  const { pk, fed, rnd } = inp;
  const n = pk.rowsAt[t]!;
  const off = pk.offsetAt[t]!;
  const ids = tf.tensor1d(fed.subarray(off, off + n), 'int32');
  // gather's gradient needs UnsortedSegmentSum, which wasm lacks: there the lookup is a one-hot product.
  let x = (scatterAddKernel() ? tf.gather(w.embedding, ids) : tf.matMul(tf.oneHot(ids, cfg.vocabSize), w.embedding)) as tf.Tensor2D;
  if (rnd.maskX) x = tf.mul(x, tf.tensor2d(rnd.maskX.subarray(off * E, (off + n) * E), [n, E]));
  let gates = tf.add(tf.matMul(x, w.W_x as tf.Tensor2D), w.b) as tf.Tensor2D;
  if (prev) gates = tf.add(gates, tf.matMul(tf.slice(prev.h, [0, 0], [n, H]), w.W_h));
  if (cfg.injection === 'every' || t === 0) gates = tf.add(gates, tf.slice(image, [0, 0], [n, 4 * H]));
  const i = tf.sigmoid(tf.slice(gates, [0, 0], [n, H]));
  const f = tf.sigmoid(tf.slice(gates, [0, H], [n, H]));
  const g = tf.tanh(tf.slice(gates, [0, 2 * H], [n, H]));
  const o = tf.sigmoid(tf.slice(gates, [0, 3 * H], [n, H]));
  const c: tf.Tensor2D = prev ? tf.add(tf.mul(f, tf.slice(prev.c, [0, 0], [n, H])), tf.mul(i, g)) : tf.mul(i, g);
  const h: tf.Tensor2D = tf.mul(o, tf.tanh(c));
  const hd = rnd.maskH ? tf.mul(h, tf.tensor2d(rnd.maskH.subarray(off * H, (off + n) * H), [n, H])) : h;
  const logp = tf.logSoftmax(tf.add(tf.matMul(hd, w.W_out), w.b_out)) as tf.Tensor2D;
  return { logp, state: { h, c } };
}

function scatterAddKernel(): boolean {
  return tf.getKernel('UnsortedSegmentSum', tf.getBackend()) !== undefined;
}

/** Σ −log p(target) over every packed position, as a scalar (inside variableGrads). */
function summedLoss(w: DecoderWeights, cfg: DecoderConfig, inp: PassInputs): tf.Scalar {
  const image = tf.matMul(inp.feats, w.W_v) as tf.Tensor2D;
  let total: tf.Scalar | null = null;
  let state: StepState | null = null;
  for (let t = 0; t < inp.pk.steps; t++) {
    const r = step(w, cfg, inp, image, t, state);
    state = r.state;
    const off = inp.pk.offsetAt[t]!;
    const targets = tf.oneHot(tf.tensor1d(inp.pk.targets.subarray(off, off + inp.pk.rowsAt[t]!), 'int32'), cfg.vocabSize);
    const term = tf.neg(tf.sum(tf.mul(r.logp, targets))) as tf.Scalar;
    // Pairwise adds, not addN: webgpu's addN binds every input at once, over the 8 storage buffers a stage may have.
    total = total ? (tf.add(total, term) as tf.Scalar) : term;
  }
  return total!;
}

/** Chooses the words fed at the positions whose coin said "model's word" (phase 1): a pass without gradients. */
async function chooseFedWords(w: DecoderWeights, cfg: DecoderConfig, inp: PassInputs, opts: TrainingPassOptions): Promise<void> {
  const { pk, fed, rnd } = inp;
  const image = tf.tidy(() => tf.matMul(inp.feats, w.W_v) as tf.Tensor2D);
  let state: StepState | null = null;
  try {
    for (let t = 0; t + 1 < pk.steps; t++) {
      const offNext = pk.offsetAt[t + 1]!;
      const nNext = pk.rowsAt[t + 1]!;
      const prev: StepState | null = state;
      const r = tf.tidy(() => {
        const out = step(w, cfg, inp, image, t, prev);
        return { logp: out.logp, h: out.state.h, c: out.state.c };
      });
      if (prev) tf.dispose([prev.h, prev.c]);
      state = { h: r.h, c: r.c };
      let rows: Float32Array | null = null;
      for (let k = 0; k < nNext; k++) {
        if (rnd.teacher[offNext + k]) continue;
        rows ??= (await r.logp.data()) as Float32Array;
        const logRow = rows.subarray(k * cfg.vocabSize, (k + 1) * cfg.vocabSize);
        if (opts.sampling === 'argmax') fed[offNext + k] = argmax(logRow);
        else fed[offNext + k] = sampleFrom(logRow.map(Math.exp), opts.rowRngs![pk.order[k]!]!);
      }
      r.logp.dispose();
    }
  } finally {
    image.dispose();
    if (state) tf.dispose([state.h, state.c]);
  }
}

/**
 * Loss and gradients of a batch on a backend without synchronous reads. The returned grads are the caller's to
 * dispose. Randomness needs `opts.rowRngs` (one generator per row) whenever there is any (dropout or ε < 1).
 */
export async function deviceLossAndGradients(w: DecoderWeights, cfg: DecoderConfig, batch: CaptionBatch, opts: TrainingPassOptions): Promise<LossAndGradients> {
  validateDecoderConfig(cfg);
  const pk = packBatch(batch, cfg, 'decoder.lossAndGradients');
  const dropout = opts.training ? cfg.dropout : 0;
  if (!opts.rowRngs && (dropout > 0 || opts.epsilon < 1)) {
    throw new Error('decoder: the device training pass draws its randomness per row; pass rowRngs');
  }
  const N = pk.tokens;
  if (N === 0) {
    return { loss: 0, tokens: 0, grads: zeroGrads(w), teacherForcedFraction: 1 };
  }
  const rnd: PassRandomness = opts.rowRngs
    ? drawPerRow(pk, opts.rowRngs, { E: cfg.embedDim, H: cfg.hiddenDim, dropout, epsilon: opts.epsilon }, dropoutMask)
    : { maskX: null, maskH: null, teacher: new Uint8Array(N).fill(1), decisions: N - pk.rowsAt[0]!, teacherForced: N - pk.rowsAt[0]! };
  const feats = tf.tidy(() => tf.gather(batch.features, tf.tensor1d(pk.order.subarray(0, pk.rowsAt[0]!), 'int32')) as tf.Tensor2D);
  try {
    const inp: PassInputs = { pk, fed: pk.inputs.slice(), rnd, feats };
    if (rnd.teacherForced < rnd.decisions) await chooseFedWords(w, cfg, inp, opts);
    const vars = DECODER_WEIGHT_NAMES.map((n) => w[n]);
    const { value, grads } = tf.variableGrads(() => tf.div(summedLoss(w, cfg, inp), opts.gradientTokens ?? N) as tf.Scalar, vars);
    const out = {} as Record<string, tf.Tensor>;
    for (const n of DECODER_WEIGHT_NAMES) out[n] = grads[w[n].name]!;
    const scaled = (await value.data())[0]!;
    value.dispose();
    return {
      loss: (scaled * (opts.gradientTokens ?? N)) / N,
      tokens: N,
      grads: out as DecoderGrads,
      teacherForcedFraction: rnd.decisions > 0 ? rnd.teacherForced / rnd.decisions : 1,
    };
  } finally {
    feats.dispose();
  }
}

/** Teacher-forced mean cross-entropy per target token without dropout, read back asynchronously (validation). */
export async function deviceEvaluateLoss(w: DecoderWeights, cfg: DecoderConfig, batch: CaptionBatch): Promise<{ loss: number; tokens: number }> {
  validateDecoderConfig(cfg);
  const pk = packBatch(batch, cfg, 'decoder.evaluateLoss');
  if (pk.tokens === 0) return { loss: 0, tokens: 0 };
  const rnd: PassRandomness = { maskX: null, maskH: null, teacher: new Uint8Array(pk.tokens).fill(1), decisions: 0, teacherForced: 0 };
  const sum = tf.tidy(() => {
    const feats = tf.gather(batch.features, tf.tensor1d(pk.order.subarray(0, pk.rowsAt[0]!), 'int32')) as tf.Tensor2D;
    return summedLoss(w, cfg, { pk, fed: pk.inputs, rnd, feats });
  });
  const value = (await sum.data())[0]!;
  sum.dispose();
  return { loss: value / pk.tokens, tokens: pk.tokens };
}
