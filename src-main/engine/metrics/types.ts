/** One evaluated image for the caption metrics: a tokenised hypothesis and its tokenised references. */
export interface CaptionPair {
  readonly hyp: readonly string[];
  readonly refs: readonly (readonly string[])[];
}

/** A corpus-level score plus the score of each pair, in input order. */
export interface ItemizedScore {
  readonly score: number;
  readonly perItem: number[];
}

/** Throws the one-line error every metric gives for an empty corpus or an image without references. */
export function checkPairs(metric: string, pairs: readonly CaptionPair[]): void {
  if (pairs.length === 0) throw new Error(`${metric}: no captions to score`);
  pairs.forEach((pair, i) => {
    if (pair.refs.length === 0) throw new Error(`${metric}: item ${i} has no reference captions`);
  });
}
