/**
 * "Explain a caption": for an image and a caption of it, per word — how sure the model was (the word's
 * probability and the top alternatives at that step), what the LSTM did (mean input / forget / output gate
 * activations, the cell state's change, the hidden units that fired most) and where it looked (a saliency map).
 *
 * The caption is teacher-forced: step t reads <start>, w1 … w_t and the explanation of word w_{t+1} is the
 * model's state when it wrote it, so the figures hold for any caption (the model's own or one typed by the user).
 *
 * Saliency is Grad-CAM (Selvaraju et al. 2017) on the encoder's last convolutional map A ([h, w, C]; MobileNet
 * v2: 7×7×1280 `Conv_1`, v1 0.75: 7×7×768 `conv_pw_13`), not input-pixel gradients: the decoder only sees the
 * pooled feature v = mean_ij A_ij, so the map is the natural place to ask "which regions raised this word's
 * log-probability"; pixel gradients through 50+ layers of MobileNet are noisy (checkerboard, edge-dominated) and
 * cost a backward pass through the whole trunk per word. Here A is computed once, the decoder's
 * log p(w_k | w_<k, v = mean(A)) is written as a function of A, and `tf.grad` w.r.t. A gives the exact gradient —
 * a few LSTM steps per word, no gradient through the trunk. Channel weights α_c = mean_ij ∂log p/∂A_ijc and the
 * map ReLU(Σ_c α_c A_ijc), normalised to a maximum of 1. The map covers the whole image squashed to the encoder's
 * square input (the `fill224` pipeline), so it is stretched back over the image as it is.
 */
import * as tf from '@tensorflow/tfjs';
import { assertEncoderMatches, modelLabel, type CaptionModel } from './caption-model.ts';
import { END, PAD, START, type DecoderWeights } from './model-types.ts';

/** A token the model considered at a step, with its probability. */
export interface WordAlternative {
  readonly word: string;
  readonly probability: number;
}

/** The LSTM's gates at a step: each mean over the hidden units. */
export interface GateMeans {
  readonly input: number;
  readonly forget: number;
  readonly output: number;
  /** Mean |c_t − c_{t−1}| over the hidden units: how much the cell state moved at this step. */
  readonly cellChange: number;
}

/** A hidden unit and its output h at a step (h ∈ (−1, 1)). */
export interface UnitActivation {
  readonly unit: number;
  readonly activation: number;
}

/** A saliency map over the image, row-major from the top-left, values in [0, 1] (all 0 when nothing helped). */
export interface HeatMap {
  readonly width: number;
  readonly height: number;
  readonly values: readonly number[];
}

export interface WordExplanation {
  /** 0-based position of the word in the caption. */
  readonly index: number;
  readonly word: string;
  /** The model's probability of this word at this step, given the words before it and the image. */
  readonly probability: number;
  /** The most probable tokens at this step, best first (may include the word itself, <end> and <unk>; never <pad> or <start>). */
  readonly alternatives: readonly WordAlternative[];
  readonly gates: GateMeans;
  /** The hidden units with the largest h at this step, largest first. */
  readonly topUnits: readonly UnitActivation[];
  readonly heatmap: HeatMap;
}

export interface CaptionExplanation {
  readonly caption: string;
  /** Saliency method, for readers of saved files. */
  readonly method: 'grad-cam';
  readonly encoderId: string;
  readonly words: readonly WordExplanation[];
  /** The probability of <end> after the last word. */
  readonly endProbability: number;
}

export interface ExplainOptions {
  /** Alternatives per word (default 5). */
  readonly alternatives?: number;
  /** Top hidden units per word (default 8). */
  readonly topUnits?: number;
}

/** Per step of a teacher-forced rollout: what the explanation reports besides the heat map. */
interface StepRecord {
  readonly logProbs: Float32Array;
  readonly gates: GateMeans;
  readonly h: Float32Array;
}

/**
 * Explains `words` (the caption's tokens, e.g. `CaptionResult.words`) given the encoder's last convolutional map
 * of one image (`map` [1, h, w, F], F the model's featureDim, left to the caller). Leaves no tensors behind.
 * Words outside the vocabulary are read as <unk> (and reported as written).
 */
export function explainFromMap(
  model: CaptionModel,
  encoderId: string,
  map: tf.Tensor4D,
  words: readonly string[],
  options: ExplainOptions = {},
): CaptionExplanation {
  assertEncoderMatches(model, encoderId);
  const [n, mh, mw, F] = map.shape;
  if (n !== 1 || F !== model.config.featureDim) {
    throw new Error(`explain: the feature map has shape [${map.shape.join(', ')}], model ${modelLabel(model)} expects [1, h, w, ${model.config.featureDim}]`);
  }
  if (words.length === 0) throw new Error('explain: the caption has no words');
  const tokens = words.map((w) => model.vocab.id(w));
  const inputs = [START, ...tokens];
  const targets = [...tokens, END];
  const records = recordSteps(model, map, inputs);
  const nAlt = options.alternatives ?? 5;
  const nUnits = options.topUnits ?? 8;
  const explained = words.map((word, k): WordExplanation => {
    const rec = records[k]!;
    return {
      index: k,
      word,
      probability: Math.exp(rec.logProbs[targets[k]!]!),
      alternatives: topIndices(rec.logProbs, nAlt, SPECIAL_INPUTS).map((id) => ({ word: model.vocab.token(id), probability: Math.exp(rec.logProbs[id]!) })),
      gates: rec.gates,
      topUnits: topIndices(rec.h, nUnits).map((unit) => ({ unit, activation: rec.h[unit]! })),
      heatmap: { width: mw, height: mh, values: gradCam(model, map, inputs.slice(0, k + 1), targets[k]!) },
    };
  });
  return {
    caption: words.join(' '),
    method: 'grad-cam',
    encoderId,
    words: explained,
    endProbability: Math.exp(records[words.length]!.logProbs[END]!),
  };
}

/** The LSTM state after each step of a teacher-forced rollout, as a function of the map (differentiable). */
interface Rollout {
  readonly logits: tf.Tensor2D;
  readonly i: tf.Tensor2D;
  readonly f: tf.Tensor2D;
  readonly o: tf.Tensor2D;
  readonly c: tf.Tensor2D;
  readonly cPrev: tf.Tensor2D;
  readonly h: tf.Tensor2D;
}

/**
 * Runs the decoder over `inputs` (token ids, <start> first) from the image feature v = mean(map), calling
 * `visit` after each step. The same equations as decoder.ts's step model; call inside `tf.tidy` or `tf.grad`.
 */
function rollout(model: CaptionModel, map: tf.Tensor4D, inputs: readonly number[], visit: (t: number, r: Rollout) => void): void {
  const w: DecoderWeights = model.weights;
  const H = model.config.hiddenDim;
  const v = tf.mean(map, [1, 2]) as tf.Tensor2D;
  const image = tf.add(tf.matMul(v, w.W_v), w.b);
  // Embedded inputs are constants: no gradient flows into the embedding (wasm's gather has no gradient kernel).
  const xs = tf.gather(w.embedding, tf.tensor1d(Int32Array.from(inputs), 'int32'));
  let h = tf.zeros([1, H]) as tf.Tensor2D;
  let c = tf.zeros([1, H]) as tf.Tensor2D;
  inputs.forEach((_, t) => {
    const x = tf.slice(xs, [t, 0], [1, -1]);
    const gatesIn = model.config.injection === 'every' || t === 0 ? image : w.b;
    const pre = tf.add(tf.add(tf.matMul(x, w.W_x), tf.matMul(h, w.W_h)), gatesIn);
    const i = tf.sigmoid(tf.slice(pre, [0, 0], [1, H])) as tf.Tensor2D;
    const f = tf.sigmoid(tf.slice(pre, [0, H], [1, H])) as tf.Tensor2D;
    const g = tf.tanh(tf.slice(pre, [0, 2 * H], [1, H]));
    const o = tf.sigmoid(tf.slice(pre, [0, 3 * H], [1, H])) as tf.Tensor2D;
    const cPrev = c;
    c = tf.add(tf.mul(f, cPrev), tf.mul(i, g)) as tf.Tensor2D;
    h = tf.mul(o, tf.tanh(c)) as tf.Tensor2D;
    const logits = tf.add(tf.matMul(h, w.W_out), w.b_out) as tf.Tensor2D;
    visit(t, { logits, i, f, o, c, cPrev, h });
  });
}

function recordSteps(model: CaptionModel, map: tf.Tensor4D, inputs: readonly number[]): StepRecord[] {
  const out: StepRecord[] = [];
  tf.tidy(() => {
    rollout(model, map, inputs, (_t, r) => {
      const means = tf.stack([tf.mean(r.i), tf.mean(r.f), tf.mean(r.o), tf.mean(tf.abs(tf.sub(r.c, r.cPrev)))]).dataSync();
      out.push({
        logProbs: tf.logSoftmax(r.logits).dataSync() as Float32Array,
        gates: { input: means[0]!, forget: means[1]!, output: means[2]!, cellChange: means[3]! },
        h: r.h.dataSync() as Float32Array,
      });
    });
  });
  return out;
}

/** Grad-CAM of log p(target | inputs) on the map: ReLU(Σ_c α_c A_c), α_c = mean_ij ∂log p/∂A_ijc; max 1. */
function gradCam(model: CaptionModel, map: tf.Tensor4D, inputs: readonly number[], target: number): number[] {
  const last = inputs.length - 1;
  const cam = tf.tidy(() => {
    const logProbOf = (a: tf.Tensor): tf.Scalar => {
      let result: tf.Scalar | null = null;
      rollout(model, a as tf.Tensor4D, inputs, (t, r) => {
        if (t === last) result = tf.squeeze(tf.slice(tf.logSoftmax(r.logits), [0, target], [1, 1])) as tf.Scalar;
      });
      return result!;
    };
    const dA = tf.grad(logProbOf)(map);
    const alpha = tf.mean(dA, [1, 2], true); // [1, 1, 1, C]
    return tf.relu(tf.sum(tf.mul(map, alpha), -1)).dataSync(); // [1, h, w] → h·w
  });
  let max = 0;
  for (const x of cam) max = Math.max(max, x);
  return Array.from(cam, (x) => (max > 0 ? x / max : 0));
}

/** Tokens a caption never contains (decoding never writes them), so they are no alternatives. */
const SPECIAL_INPUTS: ReadonlySet<number> = new Set([PAD, START]);

/** Indices of the k largest values, largest first, leaving out `skip`. */
function topIndices(values: ArrayLike<number>, k: number, skip: ReadonlySet<number> = new Set()): number[] {
  const idx = Array.from({ length: values.length }, (_, i) => i).filter((i) => !skip.has(i));
  return idx.sort((a, b) => values[b]! - values[a]!).slice(0, Math.max(0, k));
}

/**
 * The share of a heat map's mass inside a box (0–1 image coordinates), each cell counted by the part of it the box
 * covers (the map upsampled by nearest neighbour).
 */
export function massInside(heatmap: HeatMap, box: { readonly x0: number; readonly y0: number; readonly x1: number; readonly y1: number }): number {
  let inside = 0;
  let total = 0;
  heatmap.values.forEach((value, k) => {
    const row = Math.floor(k / heatmap.width);
    const col = k % heatmap.width;
    // The part of cell (row, col) that lies inside the box.
    const ox = Math.max(0, Math.min(box.x1, (col + 1) / heatmap.width) - Math.max(box.x0, col / heatmap.width)) * heatmap.width;
    const oy = Math.max(0, Math.min(box.y1, (row + 1) / heatmap.height) - Math.max(box.y0, row / heatmap.height)) * heatmap.height;
    inside += value * ox * oy;
    total += value;
  });
  return total > 0 ? inside / total : 0;
}
