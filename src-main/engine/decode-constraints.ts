/**
 * The rules every decoding strategy shares: option defaults and checks, which tokens a hypothesis may not emit
 * next (forbidden ids, repeated n-grams), and picking the best allowed tokens from a row of log-probabilities.
 */
import { END, PAD, START, UNK } from './model-types.ts';

/** Options common to greedy, beam and sampled decoding. */
export interface DecodeOptions {
  /** Most words in a caption (default 20); a hypothesis that reaches it must emit <end> next. */
  readonly maxLength?: number;
  /** When n ≥ 1, no n-gram of n words may occur twice in a caption (default 0: off). */
  readonly blockRepeatedNgram?: number;
  /** Token ids never emitted (default <pad>, <start>, <unk>); <end> cannot be forbidden. */
  readonly forbidden?: readonly number[];
  /** score = logProb / (words + 1) ** lengthPenalty (default 1: mean log-prob per emitted token, <end> included). */
  readonly lengthPenalty?: number;
  /**
   * Token ids a caption may not end on: after one of them <end> is not allowed (until maxLength forces it), so a
   * caption cannot stop at "… in front of a" (default none; `captionFeatures` passes the vocabulary's
   * `FUNCTION_WORDS`).
   */
  readonly noEndAfter?: readonly number[];
}

/**
 * English words a sentence does not end on: articles and other determiners, prepositions, conjunctions. A caption
 * ending on one of them stopped mid-phrase.
 */
export const FUNCTION_WORDS: readonly string[] = [
  'a', 'an', 'the', 'this', 'that', 'these', 'those', 'some', 'its', 'his', 'her', 'their', 'each', 'every',
  'of', 'in', 'on', 'at', 'with', 'to', 'from', 'by', 'for', 'into', 'onto', 'over', 'under', 'near', 'behind',
  'above', 'below', 'between', 'through', 'across', 'along', 'around', 'beside', 'beneath', 'towards', 'toward',
  'and', 'or', 'but',
];

/** `DecodeOptions` with defaults filled in and checked against a vocabulary size. */
export interface ResolvedDecodeOptions {
  readonly maxLength: number;
  readonly blockRepeatedNgram: number;
  readonly lengthPenalty: number;
  /** 1 at the ids that are forbidden, length V. */
  readonly forbiddenMask: Uint8Array;
  /** 1 at the ids after which <end> is not allowed, length V. */
  readonly noEndAfterMask: Uint8Array;
}

/** Fills in defaults and throws a one-line Error for an option out of range. */
export function resolveDecodeOptions(options: DecodeOptions, vocabSize: number): ResolvedDecodeOptions {
  const maxLength = options.maxLength ?? 20;
  const blockRepeatedNgram = options.blockRepeatedNgram ?? 0;
  const lengthPenalty = options.lengthPenalty ?? 1;
  const forbidden = options.forbidden ?? [PAD, START, UNK];
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw new Error(`decode: maxLength must be a positive integer, got ${maxLength}`);
  }
  if (!Number.isInteger(blockRepeatedNgram) || blockRepeatedNgram < 0) {
    throw new Error(`decode: blockRepeatedNgram must be an integer ≥ 0, got ${blockRepeatedNgram}`);
  }
  if (!Number.isFinite(lengthPenalty) || lengthPenalty < 0) {
    throw new Error(`decode: lengthPenalty must be a finite number ≥ 0, got ${lengthPenalty}`);
  }
  if (!Number.isInteger(vocabSize) || vocabSize <= END) {
    throw new Error(`decode: the model's vocabSize must be an integer > ${END}, got ${vocabSize}`);
  }
  const forbiddenMask = new Uint8Array(vocabSize);
  for (const id of forbidden) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new Error(`decode: forbidden id ${id} is outside 0..${vocabSize - 1}`);
    }
    if (id === END) throw new Error('decode: <end> cannot be forbidden');
    forbiddenMask[id] = 1;
  }
  const noEndAfterMask = new Uint8Array(vocabSize);
  for (const id of options.noEndAfter ?? []) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw new Error(`decode: noEndAfter id ${id} is outside 0..${vocabSize - 1}`);
    }
    noEndAfterMask[id] = 1;
  }
  return { maxLength, blockRepeatedNgram, lengthPenalty, forbiddenMask, noEndAfterMask };
}

/** The length-normalised score of a caption of `words` words whose log-probability (with <end>) is `logProb`. */
export function normalizedScore(logProb: number, words: number, lengthPenalty: number): number {
  return logProb / (words + 1) ** lengthPenalty;
}

/**
 * The tokens that, appended to `words`, would make an n-gram of size `n` occur twice (none when n = 0).
 * For n = 1 that is every word already used; for n ≥ 2 it is each word that followed an earlier occurrence of
 * the last n − 1 words.
 */
export function repeatedNgramBans(words: readonly number[], n: number): number[] {
  if (n < 1 || words.length < n - 1) return [];
  if (n === 1) return [...new Set(words)];
  const bans: number[] = [];
  const suffixStart = words.length - (n - 1);
  for (let i = 0; i + n - 1 < words.length; i++) {
    let same = true;
    for (let j = 0; j < n - 1 && same; j++) same = words[i + j] === words[suffixStart + j];
    if (same) bans.push(words[i + n - 1]!);
  }
  return bans;
}

/**
 * Adds to `mask` (1 = banned; it already holds the forbidden ids) the ids the hypothesis `words` may not emit
 * next: words that would repeat an n-gram, and <end> right after a `noEndAfter` word. Returns the ids it added
 * so that `clearBans` can restore the mask.
 */
export function applyBans(mask: Uint8Array, options: ResolvedDecodeOptions, words: readonly number[]): number[] {
  const added: number[] = [];
  for (const id of repeatedNgramBans(words, options.blockRepeatedNgram)) {
    if (mask[id] === 0 && id !== END) {
      mask[id] = 1;
      added.push(id);
    }
  }
  const last = words.at(-1);
  if (last !== undefined && options.noEndAfterMask[last] === 1 && mask[END] === 0) {
    mask[END] = 1;
    added.push(END);
  }
  return added;
}

/** Undoes `applyBans`. */
export function clearBans(mask: Uint8Array, added: readonly number[]): void {
  for (const id of added) mask[id] = 0;
}

/**
 * The ids of the `k` largest allowed entries of `row` (mask 0), largest first, ties to the lower id.
 * Entries of −∞ count as allowed (the model may give them). When everything is masked (only possible when <end>
 * is, after a `noEndAfter` word, in a tiny vocabulary) it is [<end>]: a caption always can end.
 */
export function topAllowed(row: Float32Array, mask: Uint8Array, k: number): number[] {
  const best: number[] = [];
  for (let v = 0; v < row.length; v++) {
    if (mask[v] === 1) continue;
    const value = row[v]!;
    if (best.length === k && !(value > row[best[k - 1]!]!)) continue;
    let at = best.length;
    while (at > 0 && value > row[best[at - 1]!]!) at--;
    best.splice(at, 0, v);
    if (best.length > k) best.pop();
  }
  return best.length > 0 ? best : [END];
}
