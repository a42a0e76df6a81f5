/**
 * A hand-built caption model whose captions are known: feature [1, 0] says "cat", feature [0, 1] says "dog".
 * Only W_v, W_out and b_out are non-zero: the image term opens the input, candidate and output gates of one
 * hidden unit per feature, so after the first step h ≈ [tanh(σ(10)·tanh(10)), 0]·σ(10) for "cat"; W_out maps unit
 * 0 to "cat" and unit 1 to "dog" with weight 10, and b_out gives <end> a constant logit of 3.
 */
import * as tf from '@tensorflow/tfjs';
import type { CaptionModel } from '../../src-main/engine/caption-model.ts';
import { DECODER_WEIGHT_NAMES, type DecoderConfig, type DecoderWeights } from '../../src-main/engine/model-types.ts';
import { Vocabulary } from '../../src-main/engine/vocab.ts';

export const TOY_ENCODER = 'toy-encoder-2d';

export function toyCaptionModel(): CaptionModel {
  const vocab = Vocabulary.build([['cat'], ['dog']]);
  const config: DecoderConfig = { vocabSize: vocab.size, embedDim: 2, hiddenDim: 2, featureDim: 2, injection: 'every', dropout: 0 };
  const H = 2;
  const V = vocab.size;
  const Wv = new Float32Array(2 * 4 * H);
  for (const unit of [0, 1]) {
    for (const gate of [0, 2, 3]) Wv[unit * 4 * H + gate * H + unit] = 10; // i, g, o of hidden unit `unit`
  }
  const Wout = new Float32Array(H * V);
  Wout[0 * V + vocab.id('cat')] = 10;
  Wout[1 * V + vocab.id('dog')] = 10;
  const bout = new Float32Array(V);
  bout[2] = 3; // <end>
  const values: Record<(typeof DECODER_WEIGHT_NAMES)[number], tf.Tensor> = {
    embedding: tf.zeros([V, 2]),
    W_x: tf.zeros([2, 4 * H]),
    W_h: tf.zeros([H, 4 * H]),
    W_v: tf.tensor2d(Wv, [2, 4 * H]),
    b: tf.zeros([4 * H]),
    W_out: tf.tensor2d(Wout, [H, V]),
    b_out: tf.tensor1d(bout),
  };
  const weights = {} as Record<(typeof DECODER_WEIGHT_NAMES)[number], tf.Variable>;
  for (const name of DECODER_WEIGHT_NAMES) {
    weights[name] = tf.variable(values[name], false);
    values[name].dispose();
  }
  return {
    config,
    vocab,
    weights: weights as DecoderWeights,
    encoderId: TOY_ENCODER,
    metadata: { name: 'toy', createdAt: '2024-01-01T00:00:00.000Z', provenance: { test: true, note: 'hand-built' } },
  };
}

/**
 * The toy model's log-probabilities at step t (1-based) for image [1, 0], worked out in float64: the active unit's
 * cell is c_t = σ(0)·c_{t−1} + σ(10)·tanh(10), its output h_t = σ(10)·tanh(c_t); the logit of "cat" (id 4) is
 * 10·h_t, of <end> 3, of every other token 0. (Image [0, 1] gives the same numbers with "dog", id 5.)
 */
export function toyLogProbs(t: number, vocabSize: number): number[] {
  const sig = (x: number): number => 1 / (1 + Math.exp(-x));
  let c = 0;
  for (let k = 0; k < t; k++) c = 0.5 * c + sig(10) * Math.tanh(10);
  const h = sig(10) * Math.tanh(c);
  const logits = new Array<number>(vocabSize).fill(0);
  logits[2] = 3;
  logits[4] = 10 * h;
  const lse = Math.log(logits.reduce((s, l) => s + Math.exp(l), 0));
  return logits.map((l) => l - lse);
}
