/**
 * Captions image features with a trained model: the decoder's step model (decoder.ts) under one of the decoding
 * strategies (decode.ts), in chunks of rows, with the vocabulary turning ids back into text. Refuses features from
 * an encoder other than the one the model was trained on.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.ts';
import { assertEncoderMatches, modelLabel, type CaptionModel } from './caption-model.ts';
import { beamSearch, greedyDecode, sampleDecode, type DecodedCaption } from './decode.ts';
import { FUNCTION_WORDS } from './decode-constraints.ts';
import { UNK } from './model-types.ts';
import { createStepModel } from './decoder.ts';

export type { CaptionModel } from './caption-model.ts';
export { assertEncoderMatches, disposeCaptionModel } from './caption-model.ts';

/** How captions are chosen. */
export type CaptionMethod = 'beam' | 'greedy' | 'sample';

export interface CaptionOptions {
  /** The encoder the features come from; must be the model's (a clear error otherwise). */
  readonly encoderId: string;
  /** Default 'beam'. */
  readonly method?: CaptionMethod;
  /** Beam width (default 3; raised to topN when smaller). */
  readonly beamSize?: number;
  /** Captions per image: the best plus topN − 1 alternatives (default 1). Greedy always gives one. */
  readonly topN?: number;
  /** Most words per caption (default: the training maxLength, else 20). */
  readonly maxLength?: number;
  /** No n-gram of this many words may repeat in a caption (default 2; 0 turns blocking off). */
  readonly blockRepeatedNgram?: number;
  /** score = logProb / (words + 1)^lengthPenalty (default 1). */
  readonly lengthPenalty?: number;
  /**
   * No caption ends on an article, preposition or conjunction (`FUNCTION_WORDS`) unless maxLength forces it
   * (default true; false leaves <end> to the model alone).
   */
  readonly finishSentences?: boolean;
  /** Sampling temperature (method 'sample', default 1). */
  readonly temperature?: number;
  /** Seed for method 'sample' (default: a random one). */
  readonly seed?: number;
  /** Images decoded together (default 32): bounds memory for large requests. */
  readonly chunkSize?: number;
}

/** One caption and its length-normalised log-probability. */
export interface ScoredCaption {
  readonly caption: string;
  readonly score: number;
}

/** The captions of one image, best first. */
export interface CaptionResult extends ScoredCaption {
  /** The caption's words (tokens as the vocabulary holds them). */
  readonly words: readonly string[];
  /** Total log-probability of the words and the final <end>. */
  readonly logProb: number;
  /** The next best captions (up to topN − 1). */
  readonly alternatives: readonly ScoredCaption[];
}

/**
 * Captions every row of `features` ([N, F] tensor, left to the caller, or one Float32Array per image).
 * Returns one result per image, in order.
 */
export function captionFeatures(
  model: CaptionModel,
  features: readonly Float32Array[] | tf.Tensor2D,
  options: CaptionOptions,
): CaptionResult[] {
  assertEncoderMatches(model, options.encoderId);
  const F = model.config.featureDim;
  const method = options.method ?? 'beam';
  const topN = options.topN ?? 1;
  const chunkSize = options.chunkSize ?? 32;
  if (!Number.isInteger(topN) || topN < 1) throw new Error(`captionFeatures: topN must be a positive integer, got ${topN}`);
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new Error(`captionFeatures: chunkSize must be a positive integer, got ${chunkSize}`);
  }
  const beamSize = Math.max(options.beamSize ?? 3, topN);
  const decodeOptions = {
    maxLength: options.maxLength ?? model.metadata.training?.config.maxLength ?? 20,
    blockRepeatedNgram: options.blockRepeatedNgram ?? 2,
    lengthPenalty: options.lengthPenalty ?? 1,
    noEndAfter: options.finishSentences === false ? [] : functionWordIds(model),
  };
  const rng = method === 'sample' ? new Rng(options.seed ?? Math.floor(Math.random() * 0x100000000)) : null;

  let rows: number;
  if (features instanceof tf.Tensor) {
    if (features.rank !== 2 || features.shape[1] !== F) {
      throw new Error(`captionFeatures: features have shape [${features.shape}], model ${modelLabel(model)} expects [N, ${F}]`);
    }
    rows = features.shape[0];
  } else {
    features.forEach((f, i) => {
      if (f.length !== F) {
        throw new Error(`captionFeatures: features[${i}] has ${f.length} values, model ${modelLabel(model)} expects ${F}`);
      }
    });
    rows = features.length;
  }

  const results: CaptionResult[] = [];
  for (let start = 0; start < rows; start += chunkSize) {
    const n = Math.min(chunkSize, rows - start);
    const chunk: tf.Tensor2D =
      features instanceof tf.Tensor
        ? tf.slice(features, [start, 0], [n, F])
        : tf.tensor2d(concatRows(features.slice(start, start + n), F), [n, F]);
    try {
      const step = createStepModel(model.weights, model.config, chunk);
      let perRow: DecodedCaption[][];
      if (method === 'greedy') perRow = greedyDecode(step, decodeOptions).map((c) => [c]);
      else if (method === 'beam') perRow = beamSearch(step, { ...decodeOptions, beamSize, topN });
      else {
        perRow = sampleDecode(step, { ...decodeOptions, rng: rng!, temperature: options.temperature ?? 1, samples: topN });
        for (const r of perRow) r.sort((a, b) => b.score - a.score);
      }
      for (const decoded of perRow) results.push(toResult(model, decoded));
    } finally {
      chunk.dispose();
    }
  }
  return results;
}

function toResult(model: CaptionModel, decoded: readonly DecodedCaption[]): CaptionResult {
  const best = decoded[0];
  if (!best) throw new Error('captionFeatures: the decoder returned no caption');
  const words = model.vocab.decodeTokens(best.tokens);
  return {
    caption: model.vocab.decode(best.tokens),
    words,
    score: best.score,
    logProb: best.logProb,
    alternatives: decoded.slice(1).map((d) => ({ caption: model.vocab.decode(d.tokens), score: d.score })),
  };
}

/** The ids of the model's vocabulary words a caption may not end on. */
function functionWordIds(model: CaptionModel): number[] {
  return FUNCTION_WORDS.map((w) => model.vocab.id(w)).filter((id) => id !== UNK);
}

function concatRows(rows: readonly Float32Array[], F: number): Float32Array {
  const out = new Float32Array(rows.length * F);
  rows.forEach((r, i) => out.set(r, i * F));
  return out;
}
