/**
 * Captions image features with a trained model: the decoder's step model (decoder.ts) under one of the decoding
 * strategies (decode.ts), in chunks of rows, with the vocabulary turning ids back into text. Refuses features from
 * an encoder other than the one the model was trained on.
 */
import * as tf from '@tensorflow/tfjs';
import { driveAsync, driveSync } from '../util/drive.ts';
import { Rng } from '../util/rng.ts';
import { assertEncoderMatches, modelLabel, type CaptionModel } from './caption-model.ts';
import {
  beamSearch,
  beamSearchAsync,
  greedyDecode,
  greedyDecodeAsync,
  sampleDecode,
  sampleDecodeAsync,
  type BeamSearchOptions,
  type DecodedCaption,
  type DecodeOptions,
  type SampleOptions,
} from './decode.ts';
import { FUNCTION_WORDS } from './decode-constraints.ts';
import { UNK, type StepModel } from './model-types.ts';
import { createStepModel, type LstmState } from './decoder.ts';
import { hasSyncReads } from './webgpu-backend.ts';

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
 * Returns one result per image, in order. Needs a backend with synchronous reads (see `captionFeaturesAsync`).
 */
export function captionFeatures(
  model: CaptionModel,
  features: readonly Float32Array[] | tf.Tensor2D,
  options: CaptionOptions,
): CaptionResult[] {
  const plan = planCaptions(model, features, options);
  return driveSync(captionChunks(model, plan), (step) => decodeWith(plan.decoding, step));
}

/**
 * `captionFeatures` for every backend: on one without synchronous reads (webgpu) each decoding step keeps its
 * tensors on the device and awaits one read; elsewhere it is `captionFeatures`. The same captions either way.
 */
export async function captionFeaturesAsync(
  model: CaptionModel,
  features: readonly Float32Array[] | tf.Tensor2D,
  options: CaptionOptions,
): Promise<CaptionResult[]> {
  if (hasSyncReads()) return captionFeatures(model, features, options);
  const plan = planCaptions(model, features, options);
  return driveAsync(captionChunks(model, plan), (step) => decodeWithAsync(plan.decoding, step));
}

/** The request chunk by chunk: yields each chunk's step model, takes its decoded rows, returns every result. */
function* captionChunks(model: CaptionModel, plan: CaptionPlan): Generator<StepModel<LstmState>, CaptionResult[], DecodedCaption[][]> {
  const results: CaptionResult[] = [];
  for (let start = 0; start < plan.rows; start += plan.chunkSize) {
    const chunk = plan.chunk(start);
    try {
      const perRow = yield createStepModel(model.weights, model.config, chunk);
      for (const decoded of perRow) results.push(toResult(model, plan.rank(decoded)));
    } finally {
      chunk.dispose();
    }
  }
  return results;
}

function decodeWith(d: Decoding, step: StepModel<LstmState>): DecodedCaption[][] {
  if (d.method === 'greedy') return greedyDecode(step, d.options).map((c) => [c]);
  return d.method === 'beam' ? beamSearch(step, d.options) : sampleDecode(step, d.options);
}

async function decodeWithAsync(d: Decoding, step: StepModel<LstmState>): Promise<DecodedCaption[][]> {
  if (d.method === 'greedy') return (await greedyDecodeAsync(step, d.options)).map((c) => [c]);
  return d.method === 'beam' ? beamSearchAsync(step, d.options) : sampleDecodeAsync(step, d.options);
}

/** What decoding a caption request runs, per method. */
type Decoding =
  | { readonly method: 'greedy'; readonly options: DecodeOptions }
  | { readonly method: 'beam'; readonly options: BeamSearchOptions }
  | { readonly method: 'sample'; readonly options: SampleOptions };

/** A checked caption request: its rows, its chunks as tensors (the caller disposes each), its decoding. */
interface CaptionPlan {
  readonly rows: number;
  readonly chunkSize: number;
  readonly decoding: Decoding;
  chunk(start: number): tf.Tensor2D;
  /** A row's captions best first (samples come in draw order). */
  rank(decoded: DecodedCaption[]): DecodedCaption[];
}

function planCaptions(model: CaptionModel, features: readonly Float32Array[] | tf.Tensor2D, options: CaptionOptions): CaptionPlan {
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
  let decoding: Decoding;
  if (method === 'greedy') decoding = { method, options: decodeOptions };
  else if (method === 'beam') decoding = { method, options: { ...decodeOptions, beamSize, topN } };
  else {
    const rng = new Rng(options.seed ?? Math.floor(Math.random() * 0x100000000));
    decoding = { method, options: { ...decodeOptions, rng, temperature: options.temperature ?? 1, samples: topN } };
  }

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
  return {
    rows,
    chunkSize,
    decoding,
    chunk(start: number): tf.Tensor2D {
      const n = Math.min(chunkSize, rows - start);
      return features instanceof tf.Tensor ? tf.slice(features, [start, 0], [n, F]) : tf.tensor2d(concatRows(features.slice(start, start + n), F), [n, F]);
    },
    rank(decoded: DecodedCaption[]): DecodedCaption[] {
      return method === 'sample' ? decoded.sort((a, b) => b.score - a.score) : decoded;
    },
  };
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
