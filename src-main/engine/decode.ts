/**
 * Caption decoding over any `StepModel` (one row per image): greedy, beam search and sampling. All rows go
 * through one `step` call per time step; states are reordered with `select` and every state this module stops
 * using is disposed. Each strategy is written once, as a generator that yields the step it needs; the plain
 * functions drive it with `step`, the `…Async` ones with `stepAsync` (backends without synchronous reads, such as
 * webgpu: the state stays on the device and one read per time step is awaited).
 *
 * A caption is words w1…wn followed by <end>, with n ≤ maxLength (after maxLength words <end> is forced). Its
 * `logProb` is the model's log-probability of the words and the <end>; its `score` is that divided by
 * (n + 1) ** lengthPenalty, so with the default penalty 1 it is the mean log-probability per emitted token.
 */
import { END, START, type StepModel } from './model-types.ts';
import { driveAsync, driveSync } from '../util/drive.ts';
import type { Rng } from '../util/rng.ts';
import {
  applyBans,
  clearBans,
  normalizedScore,
  resolveDecodeOptions,
  topAllowed,
  type DecodeOptions,
  type ResolvedDecodeOptions,
} from './decode-constraints.ts';

export type { DecodeOptions } from './decode-constraints.ts';

/** One decoded caption. */
export interface DecodedCaption {
  /** Word ids, without <start> and <end>. */
  readonly tokens: number[];
  /** The model's log-probability of each word, then of the final <end> (length tokens.length + 1). */
  readonly tokenLogProbs: number[];
  /** Sum of `tokenLogProbs`. */
  readonly logProb: number;
  /** Length-normalised `logProb` (see the module comment); beams are ranked by it. */
  readonly score: number;
}

/** Beam search settings. */
export interface BeamSearchOptions extends DecodeOptions {
  /** Hypotheses kept per row, finished ones included (k ≥ 1). */
  readonly beamSize: number;
  /** Captions returned per row, best first (1 ≤ topN ≤ beamSize; default 1). */
  readonly topN?: number;
}

/** Sampling settings. */
export interface SampleOptions extends DecodeOptions {
  /** The seeded generator the samples are drawn from. */
  readonly rng: Rng;
  /** Log-probabilities are divided by it before sampling (> 0; default 1; below 1 sharpens). */
  readonly temperature?: number;
  /** Captions drawn per row (default 1). */
  readonly samples?: number;
}

/** A hypothesis under construction. */
interface Hypothesis {
  readonly row: number;
  readonly words: number[];
  readonly tokenLogProbs: number[];
  readonly logProb: number;
  readonly score: number;
  readonly done: boolean;
  /** Index of the live hypothesis it extends, in the state it was stepped with. */
  readonly parent: number;
  /** Index of the empty hypothesis it grew from (keeps samples in draw order). */
  readonly origin: number;
}

const root = (row: number, index: number): Hypothesis => ({
  row, words: [], tokenLogProbs: [], logProb: 0, score: 0, done: false, parent: index, origin: index,
});

function extend(h: Hypothesis, token: number, logProb: number, parent: number, penalty: number): Hypothesis {
  const done = token === END;
  const words = done ? h.words : [...h.words, token];
  const total = h.logProb + logProb;
  return {
    row: h.row,
    words,
    tokenLogProbs: [...h.tokenLogProbs, logProb],
    logProb: total,
    // A live hypothesis of n words has emitted n tokens; a finished one n words and <end>.
    score: normalizedScore(total, done ? words.length : words.length - 1, penalty),
    done,
    parent,
    origin: h.origin,
  };
}

function toCaption(h: Hypothesis): DecodedCaption {
  return { tokens: h.words, tokenLogProbs: h.tokenLogProbs, logProb: h.logProb, score: h.score };
}

/** A step a decoding generator asks its driver for, and the driver's answer. */
interface StepRequest<S> {
  readonly tokens: Int32Array;
  readonly state: S;
}
interface StepReply<S> {
  readonly logProbs: Float32Array;
  readonly state: S;
}
type Decoding<S, R> = Generator<StepRequest<S>, R, StepReply<S>>;

/** Drives a decoding with the model's synchronous step. */
function runSync<S, R>(model: StepModel<S>, decoding: Decoding<S, R>): R {
  return driveSync(decoding, (r) => model.step(r.tokens, r.state));
}

/** Drives a decoding with the model's asynchronous step (one awaited read per time step). */
async function runAsync<S, R>(model: StepModel<S>, decoding: Decoding<S, R>): Promise<R> {
  if (!model.stepAsync) throw new Error('decode: this step model has no asynchronous step');
  return driveAsync(decoding, (r) => model.stepAsync!(r.tokens, r.state));
}

/** Runs one step, checking the output size; on success the input state is disposed, on failure it is not. */
function* stepAll<S>(model: StepModel<S>, live: readonly Hypothesis[], state: S): Generator<StepRequest<S>, StepReply<S>, StepReply<S>> {
  const tokens = Int32Array.from(live, (h) => h.words.at(-1) ?? START);
  const out = yield { tokens, state };
  if (out.logProbs.length !== live.length * model.vocabSize) {
    if (out.state !== state) model.dispose(out.state); // the caller still holds and disposes `state`
    throw new Error(
      `decode: step returned ${out.logProbs.length} log-probs, expected ${live.length} rows × ${model.vocabSize}`,
    );
  }
  if (out.state !== state) model.dispose(state);
  return out;
}

/** `select` that disposes the state it replaces (and skips the call when the rows are unchanged). */
function reselect<S>(model: StepModel<S>, state: S, rows: Int32Array, previousRows: number): S {
  if (rows.length === previousRows && rows.every((r, i) => r === i)) return state;
  const next = model.select(state, rows);
  if (next !== state) model.dispose(state);
  return next;
}

/**
 * Decoding that keeps one hypothesis per state row and extends it by `choose` (greedy or sampled); rows whose
 * caption ended are dropped from the state.
 */
function* decodeSingles<S>(
  model: StepModel<S>,
  options: ResolvedDecodeOptions,
  copies: number,
  choose: (row: Float32Array, mask: Uint8Array) => number,
): Decoding<S, Hypothesis[]> {
  const finished: Hypothesis[] = [];
  let live: Hypothesis[] = [];
  for (let r = 0; r < model.rows; r++) for (let c = 0; c < copies; c++) live.push(root(r, live.length));
  if (live.length === 0) return [];
  const mask = options.forbiddenMask.slice();
  const V = model.vocabSize;
  let state = model.initialState();
  try {
    state = reselect(model, state, Int32Array.from(live, (h) => h.row), model.rows);
    for (let t = 0; live.length > 0; t++) {
      const out = yield* stepAll(model, live, state);
      state = out.state;
      const next: Hypothesis[] = [];
      live.forEach((h, i) => {
        const row = out.logProbs.subarray(i * V, (i + 1) * V);
        let token = END;
        if (t < options.maxLength) {
          const added = applyBans(mask, options, h.words);
          token = choose(row, mask);
          clearBans(mask, added);
        }
        const child = extend(h, token, row[token]!, i, options.lengthPenalty);
        (child.done ? finished : next).push(child);
      });
      if (next.length > 0) state = reselect(model, state, Int32Array.from(next, (h) => h.parent), live.length);
      live = next;
    }
  } finally {
    model.dispose(state);
  }
  return finished;
}

/** The most probable next token at each step, for every row: one caption per row. */
export function greedyDecode<S>(model: StepModel<S>, options: DecodeOptions = {}): DecodedCaption[] {
  return runSync(model, greedy(model, options));
}

/** `greedyDecode` through the model's asynchronous step. */
export function greedyDecodeAsync<S>(model: StepModel<S>, options: DecodeOptions = {}): Promise<DecodedCaption[]> {
  return runAsync(model, greedy(model, options));
}

function* greedy<S>(model: StepModel<S>, options: DecodeOptions): Decoding<S, DecodedCaption[]> {
  const resolved = resolveDecodeOptions(options, model.vocabSize);
  const byRow: DecodedCaption[] = new Array(model.rows);
  const argmax = (row: Float32Array, mask: Uint8Array): number => topAllowed(row, mask, 1)[0]!;
  for (const h of yield* decodeSingles(model, resolved, 1, argmax)) byRow[h.row] = toCaption(h);
  return byRow;
}

/**
 * Captions drawn from the model's distribution (sharpened or flattened by `temperature`), `samples` per row,
 * reproducible from the seed of `rng`. Returns rows × samples, in draw order.
 */
export function sampleDecode<S>(model: StepModel<S>, options: SampleOptions): DecodedCaption[][] {
  return runSync(model, sampling(model, options));
}

/** `sampleDecode` through the model's asynchronous step. */
export function sampleDecodeAsync<S>(model: StepModel<S>, options: SampleOptions): Promise<DecodedCaption[][]> {
  return runAsync(model, sampling(model, options));
}

function* sampling<S>(model: StepModel<S>, options: SampleOptions): Decoding<S, DecodedCaption[][]> {
  const resolved = resolveDecodeOptions(options, model.vocabSize);
  const temperature = options.temperature ?? 1;
  const samples = options.samples ?? 1;
  if (!(temperature > 0) || !Number.isFinite(temperature)) {
    throw new Error(`sampleDecode: temperature must be a finite number > 0, got ${temperature}`);
  }
  if (!Number.isInteger(samples) || samples < 1) {
    throw new Error(`sampleDecode: samples must be a positive integer, got ${samples}`);
  }
  const weights = new Float64Array(model.vocabSize);
  const draw = (row: Float32Array, mask: Uint8Array): number => {
    let max = -Infinity;
    for (let v = 0; v < row.length; v++) if (mask[v] === 0 && row[v]! > max) max = row[v]!;
    if (max === -Infinity) return END; // nothing allowed has any probability (or nothing is allowed): end the caption
    let total = 0;
    let last = END;
    for (let v = 0; v < row.length; v++) {
      weights[v] = mask[v] === 0 ? Math.exp((row[v]! - max) / temperature) : 0;
      total += weights[v]!;
      if (weights[v]! > 0) last = v;
    }
    let u = options.rng.next() * total;
    for (let v = 0; v < row.length; v++) {
      u -= weights[v]!;
      if (u < 0 && weights[v]! > 0) return v;
    }
    return last; // rounding left u ≥ 0 after the last positive weight
  };
  const byRow: DecodedCaption[][] = Array.from({ length: model.rows }, () => []);
  // Report samples in draw order, not in the order they finished.
  const finished = (yield* decodeSingles(model, resolved, samples, draw)).sort((a, b) => a.origin - b.origin);
  for (const h of finished) byRow[h.row]!.push(toCaption(h));
  return byRow;
}

/**
 * Beam search with `beamSize` hypotheses per row. A hypothesis that emits <end> stays in its row's beam,
 * competing by score with the live ones, and is not extended; a row is done when its beam holds only finished
 * hypotheses, and the search when every row is. Beam size 1 is greedy decoding; a beam at least as large as
 * the number of possible captions finds the best-scoring one. Returns up to `topN` captions per row, best first.
 */
export function beamSearch<S>(model: StepModel<S>, options: BeamSearchOptions): DecodedCaption[][] {
  return runSync(model, beam(model, options));
}

/** `beamSearch` through the model's asynchronous step. */
export function beamSearchAsync<S>(model: StepModel<S>, options: BeamSearchOptions): Promise<DecodedCaption[][]> {
  return runAsync(model, beam(model, options));
}

function* beam<S>(model: StepModel<S>, options: BeamSearchOptions): Decoding<S, DecodedCaption[][]> {
  const resolved = resolveDecodeOptions(options, model.vocabSize);
  const k = options.beamSize;
  const topN = options.topN ?? 1;
  if (!Number.isInteger(k) || k < 1) throw new Error(`beamSearch: beamSize must be a positive integer, got ${k}`);
  if (!Number.isInteger(topN) || topN < 1 || topN > k) {
    throw new Error(`beamSearch: topN must be an integer in 1..beamSize (${k}), got ${topN}`);
  }
  const V = model.vocabSize;
  const beams: Hypothesis[][] = Array.from({ length: model.rows }, () => []);
  let live: Hypothesis[] = beams.map((_, r) => root(r, r));
  if (live.length === 0) return [];
  const mask = resolved.forbiddenMask.slice();
  let state = model.initialState();
  try {
    for (let t = 0; live.length > 0; t++) {
      const out = yield* stepAll(model, live, state);
      state = out.state;
      // Finished hypotheses come first so that, at equal score, they keep their place.
      const candidates = beams.map((beam) => beam.filter((h) => h.done));
      live.forEach((h, i) => {
        const row = out.logProbs.subarray(i * V, (i + 1) * V);
        let tokens = [END];
        if (t < resolved.maxLength) {
          const added = applyBans(mask, resolved, h.words);
          // Only a parent's own k best tokens can be among its row's k best extensions.
          tokens = topAllowed(row, mask, k);
          clearBans(mask, added);
        }
        for (const token of tokens) candidates[h.row]!.push(extend(h, token, row[token]!, i, resolved.lengthPenalty));
      });
      const next: Hypothesis[] = [];
      candidates.forEach((list, r) => {
        beams[r] = list.sort(byScoreDescending).slice(0, k);
        for (const h of beams[r]!) if (!h.done) next.push(h);
      });
      if (next.length > 0) state = reselect(model, state, Int32Array.from(next, (h) => h.parent), live.length);
      live = next;
    }
  } finally {
    model.dispose(state);
  }
  return beams.map((beam) => beam.slice(0, topN).map(toCaption));
}

function byScoreDescending(a: Hypothesis, b: Hypothesis): number {
  return a.score > b.score ? -1 : a.score < b.score ? 1 : 0;
}
