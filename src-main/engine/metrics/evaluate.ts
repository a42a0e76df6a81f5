/**
 * The COCO caption scores of a set of generated captions against human references, from raw strings: both
 * sides go through `tokenize` (the tokenizer the vocabulary uses), then BLEU-1…4, ROUGE-L and CIDEr-D as
 * pycocoevalcap computes them.
 */
import { tokenize } from '../../text/tokenize.ts';
import { corpusBleu } from './bleu.ts';
import { ciderD } from './cider.ts';
import { rougeL } from './rouge.ts';
import type { CaptionPair } from './types.ts';

/** Corpus-level caption scores (BLEU and ROUGE-L in 0…1, CIDEr-D in 0…10). */
export interface CaptionScores {
  readonly bleu1: number;
  readonly bleu2: number;
  readonly bleu3: number;
  readonly bleu4: number;
  readonly rougeL: number;
  readonly ciderD: number;
}

/**
 * Scores one hypothesis per image id against that image's references. Every hypothesis id must have at least
 * one reference; references of ids without a hypothesis are ignored (they do not enter CIDEr-D's document
 * frequencies either, as the evaluated set is the hypotheses' images).
 */
export function evaluateCaptions(refs: ReadonlyMap<string, readonly string[]>, hyps: ReadonlyMap<string, string>): CaptionScores {
  if (hyps.size === 0) throw new Error('evaluateCaptions: no hypotheses to score');
  const pairs: CaptionPair[] = [];
  for (const [id, hyp] of hyps) {
    const references = refs.get(id);
    if (!references || references.length === 0) {
      throw new Error(`evaluateCaptions: no reference captions for image ${JSON.stringify(id)}`);
    }
    pairs.push({ hyp: tokenize(hyp), refs: references.map(tokenize) });
  }
  return evaluatePairs(pairs);
}

/** `evaluateCaptions` for captions that are already tokenised. */
export function evaluatePairs(pairs: readonly CaptionPair[]): CaptionScores {
  const [bleu1, bleu2, bleu3, bleu4] = corpusBleu(pairs, 4) as [number, number, number, number];
  return { bleu1, bleu2, bleu3, bleu4, rougeL: rougeL(pairs).score, ciderD: ciderD(pairs).score };
}
