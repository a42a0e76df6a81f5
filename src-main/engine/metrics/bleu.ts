/**
 * Corpus BLEU as pycocoevalcap computes it (bleu_scorer.py, option 'closest'): clipped n-gram matches and
 * n-gram counts are summed over the corpus; each hypothesis's reference length is the reference length closest to
 * its own (ties to the shorter); BLEU-n = (∏_{k≤n} (correct_k + 1e-15) / (guess_k + 1e-9))^(1/n), times the
 * brevity penalty exp(1 − r/c) when the total hypothesis length c is below the total reference length r.
 * The 1e-15 / 1e-9 terms are pycocoevalcap's: a zero match count gives a tiny score, not an error.
 */
import { countNgrams, ngramOrder } from './ngrams.ts';
import { checkPairs, type CaptionPair } from './types.ts';

const TINY = 1e-15;
const SMALL = 1e-9;

/** BLEU-1 … BLEU-maxN over the corpus (index 0 is BLEU-1). */
export function corpusBleu(pairs: readonly CaptionPair[], maxN = 4): number[] {
  checkPairs('BLEU', pairs);
  const guess = new Array<number>(maxN).fill(0);
  const correct = new Array<number>(maxN).fill(0);
  let hypLength = 0;
  let refLength = 0;
  for (const { hyp, refs } of pairs) {
    const maxRefCounts = new Map<string, number>();
    for (const ref of refs) {
      for (const [gram, count] of countNgrams(ref, maxN)) {
        maxRefCounts.set(gram, Math.max(maxRefCounts.get(gram) ?? 0, count));
      }
    }
    for (const [gram, count] of countNgrams(hyp, maxN)) {
      correct[ngramOrder(gram) - 1]! += Math.min(maxRefCounts.get(gram) ?? 0, count);
    }
    for (let k = 0; k < maxN; k++) guess[k]! += Math.max(0, hyp.length - k);
    hypLength += hyp.length;
    refLength += closestLength(refs.map((r) => r.length), hyp.length);
  }
  const ratio = (hypLength + TINY) / (refLength + SMALL);
  const brevity = ratio < 1 ? Math.exp(1 - 1 / ratio) : 1;
  const scores: number[] = [];
  let product = 1;
  for (let k = 0; k < maxN; k++) {
    product *= (correct[k]! + TINY) / (guess[k]! + SMALL);
    scores.push(product ** (1 / (k + 1)) * brevity);
  }
  return scores;
}

/** The reference length closest to `length`, the shorter one on a tie. */
function closestLength(lengths: readonly number[], length: number): number {
  let best = lengths[0]!;
  for (const l of lengths) {
    const d = Math.abs(l - length);
    const bestD = Math.abs(best - length);
    if (d < bestD || (d === bestD && l < best)) best = l;
  }
  return best;
}
