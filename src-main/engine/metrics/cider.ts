/**
 * CIDEr-D as pycocoevalcap computes it (cider_scorer.py): each caption becomes, for n = 1…4, a vector of
 * n-gram tf-idf weights tf·(log N − log max(1, df)), where N is the number of evaluated images and df the number
 * of images whose references contain the n-gram (document frequencies come from the references of the evaluated
 * set only). For each reference, the n-gram similarity is Σ min(h, r)·r / (‖h‖·‖r‖) (clipped; no division when
 * a norm is 0), times the Gaussian length penalty exp(−δ²/2σ²), σ = 6. The image score is the mean over n of the
 * similarities averaged over its references, times 10; the corpus score is the mean over images.
 * δ follows pycocoevalcap exactly: it is the difference of the two captions' bigram counts (their
 * `length` is counted at n-gram index 1), which equals the difference of word counts except for empty captions.
 * With a single image log N = 0, so every weight and the score are 0, as in pycocoevalcap.
 */
import { countNgrams, ngramOrder } from './ngrams.ts';
import { checkPairs, type CaptionPair, type ItemizedScore } from './types.ts';

const MAX_N = 4;

/** Options for `ciderD`. */
export interface CiderOptions {
  /** Width of the Gaussian length penalty (default 6). */
  readonly sigma?: number;
}

interface TfIdf {
  /** Per n-gram order (index n − 1): n-gram → weight. */
  readonly vectors: Map<string, number>[];
  readonly norms: number[];
  readonly bigrams: number;
}

/** Mean CIDEr-D over the pairs, and each pair's CIDEr-D. */
export function ciderD(pairs: readonly CaptionPair[], options: CiderOptions = {}): ItemizedScore {
  checkPairs('CIDEr-D', pairs);
  const sigma = options.sigma ?? 6;
  const hypCounts = pairs.map((p) => countNgrams(p.hyp, MAX_N));
  const refCounts = pairs.map((p) => p.refs.map((r) => countNgrams(r, MAX_N)));

  const documentFrequency = new Map<string, number>();
  for (const refs of refCounts) {
    const seen = new Set<string>();
    for (const counts of refs) for (const gram of counts.keys()) seen.add(gram);
    for (const gram of seen) documentFrequency.set(gram, (documentFrequency.get(gram) ?? 0) + 1);
  }
  const logImages = Math.log(pairs.length);

  const tfIdf = (counts: Map<string, number>): TfIdf => {
    const vectors = Array.from({ length: MAX_N }, () => new Map<string, number>());
    const squares = new Array<number>(MAX_N).fill(0);
    let bigrams = 0;
    for (const [gram, tf] of counts) {
      const n = ngramOrder(gram) - 1;
      const weight = tf * (logImages - Math.log(Math.max(1, documentFrequency.get(gram) ?? 0)));
      vectors[n]!.set(gram, weight);
      squares[n]! += weight * weight;
      if (n === 1) bigrams += tf;
    }
    return { vectors, norms: squares.map(Math.sqrt), bigrams };
  };

  const similarity = (hyp: TfIdf, ref: TfIdf): number[] => {
    const delta = hyp.bigrams - ref.bigrams;
    const penalty = Math.exp(-(delta * delta) / (2 * sigma * sigma));
    return hyp.vectors.map((vector, n) => {
      const refVector = ref.vectors[n]!;
      let value = 0;
      for (const [gram, weight] of vector) {
        const refWeight = refVector.get(gram) ?? 0;
        value += Math.min(weight, refWeight) * refWeight;
      }
      if (hyp.norms[n] !== 0 && ref.norms[n] !== 0) value /= hyp.norms[n]! * ref.norms[n]!;
      return value * penalty;
    });
  };

  const perItem = pairs.map((_, i) => {
    const hyp = tfIdf(hypCounts[i]!);
    const sums = new Array<number>(MAX_N).fill(0);
    for (const counts of refCounts[i]!) {
      similarity(hyp, tfIdf(counts)).forEach((v, n) => (sums[n]! += v));
    }
    const meanOverN = sums.reduce((s, v) => s + v, 0) / MAX_N;
    return (meanOverN / refCounts[i]!.length) * 10;
  });
  return { score: perItem.reduce((s, v) => s + v, 0) / perItem.length, perItem };
}
