/**
 * ROUGE-L as pycocoevalcap computes it (rouge.py): for each hypothesis, the longest common subsequence with
 * each reference gives a precision LCS/|hyp| and a recall LCS/|ref|; the maximum precision and the maximum
 * recall (each over the references, possibly from different ones) combine into
 * F = (1 + β²)·P·R / (R + β²·P) with β = 1.2; the corpus score is the mean F.
 */
import { checkPairs, type CaptionPair, type ItemizedScore } from './types.ts';

const BETA = 1.2;

/** Mean ROUGE-L F over the pairs, and each pair's F. */
export function rougeL(pairs: readonly CaptionPair[]): ItemizedScore {
  checkPairs('ROUGE-L', pairs);
  const perItem = pairs.map(({ hyp, refs }) => {
    let precision = 0;
    let recall = 0;
    for (const ref of refs) {
      const lcs = lcsLength(hyp, ref);
      if (hyp.length > 0) precision = Math.max(precision, lcs / hyp.length);
      if (ref.length > 0) recall = Math.max(recall, lcs / ref.length);
    }
    if (precision === 0 || recall === 0) return 0;
    return ((1 + BETA ** 2) * precision * recall) / (recall + BETA ** 2 * precision);
  });
  return { score: mean(perItem), perItem };
}

/** Length of the longest common subsequence of two token lists (one rolling row of the DP table). */
export function lcsLength(a: readonly string[], b: readonly string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = 0; // row[j - 1] of the previous i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = a[i - 1] === b[j - 1] ? diagonal + 1 : Math.max(above, row[j - 1]!);
      diagonal = above;
    }
  }
  return row[b.length]!;
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}
