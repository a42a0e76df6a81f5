/**
 * Types shared by the decoder, the trainer, decoding and bundles. Kept free of heavy imports except tfjs types.
 */
import type * as tf from '@tensorflow/tfjs';

/** Special token ids; every vocabulary starts with these four, in this order. */
export const PAD = 0;
export const START = 1;
export const END = 2;
export const UNK = 3;
export const SPECIAL_TOKENS = ['<pad>', '<start>', '<end>', '<unk>'] as const;

/** How the image feature enters the LSTM: at every step (the notes' W_ih·v injection) or only at t = 0. */
export type Injection = 'every' | 'init';

export interface DecoderConfig {
  /** Vocabulary size V, special tokens included. */
  readonly vocabSize: number;
  /** Word embedding size E. */
  readonly embedDim: number;
  /** LSTM hidden size H. */
  readonly hiddenDim: number;
  /** Image feature size F (1280 for MobileNet v2 1.0, 768 for v1 0.75, 256 for v1 0.25). */
  readonly featureDim: number;
  /** Where W_ih·v is added to the gate pre-activations. */
  readonly injection: Injection;
  /** Dropout probability on the embedded input and on h before the output projection (training only). */
  readonly dropout: number;
}

/**
 * Decoder parameters, gate order i, f, g, o along the 4H axis:
 *   gates_t = x_t·W_x + h_{t-1}·W_h + v·W_v + b      (v·W_v at every t, or only at t = 0 with injection 'init')
 *   logits_t = h_t·W_out + b_out
 */
export const DECODER_WEIGHT_NAMES = ['embedding', 'W_x', 'W_h', 'W_v', 'b', 'W_out', 'b_out'] as const;
export type DecoderWeightName = (typeof DECODER_WEIGHT_NAMES)[number];
/** Shapes: embedding [V,E], W_x [E,4H], W_h [H,4H], W_v [F,4H], b [4H], W_out [H,V], b_out [V]. */
export type DecoderWeights = Record<DecoderWeightName, tf.Variable>;
export type DecoderGrads = Record<DecoderWeightName, tf.Tensor>;

/**
 * A mini-batch of captions. `tokens` is row-major [B, L]: each row is
 * `<start> w1 … wn <end> <pad> …`; the input at step t is tokens[:, t], the target tokens[:, t + 1],
 * and positions whose target is <pad> are masked out of the loss.
 */
export interface CaptionBatch {
  readonly features: tf.Tensor2D; // [B, F]
  readonly tokens: Int32Array; // B × L
  readonly batchSize: number;
  readonly length: number; // L
}

/**
 * The decoding seam shared by greedy, beam search and sampling: a model supplies log-probabilities of the next
 * token given the previous tokens and a state. The trainer's scheduled-sampling pass (decoder-train.ts) runs the
 * same cell step by step with its own hand-written backward pass; test/engine/decoder.test.ts checks that an
 * ε = 0 argmax pass gives the same loss as a rollout of this seam.
 * Ownership: `step` and `select` return new states; the caller disposes every state it holds, inputs included.
 */
export interface StepModel<S> {
  readonly vocabSize: number;
  /** Number of rows (sequences) the initial state holds. */
  readonly rows: number;
  /** The state before the first step (h = c = 0, plus whatever the image contributes). */
  initialState(): S;
  /** One step for every row: `tokens` has one id per row; `logProbs` is rows × V, row-major. */
  step(tokens: Int32Array, state: S): { logProbs: Float32Array; state: S };
  /** `step` with an awaited read of the log-probs, for backends without synchronous reads (webgpu). */
  stepAsync?(tokens: Int32Array, state: S): Promise<{ logProbs: Float32Array; state: S }>;
  /** A state made of the given rows of `state` (for expanding or reordering beams); rows may repeat. */
  select(state: S, rows: Int32Array): S;
  dispose(state: S): void;
}
