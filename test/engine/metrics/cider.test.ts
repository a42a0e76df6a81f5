import { describe, expect, it } from 'vitest';
import { ciderD } from '../../../src-main/engine/metrics/cider.ts';

const words = (s: string): string[] => (s === '' ? [] : s.split(' '));
const pair = (hyp: string, refs: string[]) => ({ hyp: words(hyp), refs: refs.map(words) });

describe('ciderD', () => {
  it('matches a hand-worked two-image example', () => {
    // N = 2 images, L = log 2. Document frequencies (images whose refs contain the n-gram):
    //   a: 2 → weight L − log 2 = 0;  cat, sits, dog, "a cat", "cat sits", "a cat sits", "a dog": 1 → weight L;
    //   the, "the dog": 0 → log max(1, 0) = 0 → weight L.
    // Image 1, hyp "a cat": n=1 {a: 0, cat: L}, n=2 {"a cat": L}, 1 bigram.
    //   ref "a cat sits": n=1 {a 0, cat L, sits L} ‖·‖ = √2·L; n=2 {"a cat" L, "cat sits" L} ‖·‖ = √2·L;
    //     n=3 {"a cat sits" L}; 2 bigrams → δ = −1, penalty e = exp(−1/72).
    //     sims: n=1 L²/(L·√2L) = 1/√2, n=2 1/√2, n=3 0 (hyp has no 3-grams), n=4 0 → [e/√2, e/√2, 0, 0]
    //   ref "a cat": identical → [1, 1, 0, 0]
    //   score = mean over n of the sums / 2 refs · 10 = (2 + 2e/√2)/4 / 2 · 10 = 2.5·(1 + e/√2)
    // Image 2, hyp "the dog" vs ref "a dog": n=1 hyp {the L, dog L} ‖·‖ = √2·L, ref {a 0, dog L} ‖·‖ = L
    //   → min(L, L)·L / (√2L·L) = 1/√2; n=2 "the dog" vs "a dog" → 0; δ = 0.
    //   score = (1/√2)/4 · 10 = 2.5/√2
    const e = Math.exp(-1 / 72);
    const image1 = 2.5 * (1 + e / Math.SQRT2);
    const image2 = 2.5 / Math.SQRT2;
    const result = ciderD([pair('a cat', ['a cat sits', 'a cat']), pair('the dog', ['a dog'])]);
    expect(result.perItem[0]).toBeCloseTo(image1, 12); // 4.2434
    expect(result.perItem[1]).toBeCloseTo(image2, 12); // 1.7678
    expect(result.score).toBeCloseTo((image1 + image2) / 2, 12);
  });

  it('gives 10 to captions equal to all their references when every n-gram order has weight', () => {
    // Four-word captions with no shared n-grams between images: every n = 1…4 cosine is 1.
    const result = ciderD([
      pair('a b c d', ['a b c d', 'a b c d']),
      pair('e f g h', ['e f g h']),
      pair('i j k l m', ['i j k l m', 'i j k l m', 'i j k l m']),
    ]);
    for (const v of result.perItem) expect(v).toBeCloseTo(10, 12);
  });

  it('gives 5 to an exact two-word caption: orders 3 and 4 contribute 0', () => {
    // As above but only unigram and bigram cosines exist: mean([1, 1, 0, 0]) · 10.
    const result = ciderD([pair('a cat', ['a cat']), pair('a dog', ['a dog'])]);
    expect(result.perItem[0]).toBeCloseTo(5, 12);
    expect(result.perItem[1]).toBeCloseTo(5, 12);
  });

  it('penalises length differences with exp(−δ²/72) and clips repeated n-grams', () => {
    // Two images, words distinct across images, so every n-gram of image 1 weighs L = log 2.
    // hyp "a b c d" vs ref "a b c d x y z": 3 bigrams vs 6 → δ = −3, penalty exp(−9/72).
    // n=1: hyp {a,b,c,d} all L, ref 7 unigrams all L: 4L²/(2L·√7L) = 2/√7; n=2: 3/√(3·6) = 3/√18;
    // n=3: 2/√(2·5); n=4: 1/√(1·4).
    const penalty = Math.exp(-9 / 72);
    const sims = [2 / Math.sqrt(7), 3 / Math.sqrt(18), 2 / Math.sqrt(10), 1 / 2];
    const expected = (sims.reduce((s, v) => s + v, 0) / 4) * 10 * penalty;
    const result = ciderD([pair('a b c d', ['a b c d x y z']), pair('q', ['q'])]);
    expect(result.perItem[0]).toBeCloseTo(expected, 12);
    // Clipping: "a a a a" against ref "a": hyp weight 4L is clipped to the ref's L: n=1 value L·L/(4L·L) = 1/4;
    // bigram counts 3 vs 0 → δ = 3.
    const clipped = ciderD([pair('a a a a', ['a']), pair('q', ['q'])]);
    expect(clipped.perItem[0]).toBeCloseTo((0.25 / 4) * 10 * Math.exp(-9 / 72), 12);
  });

  it('is 0 on a single-image set (log N = 0), as pycocoevalcap', () => {
    expect(ciderD([pair('a cat on a mat', ['a cat on a mat'])]).score).toBe(0);
  });

  it('rejects an empty corpus', () => {
    expect(() => ciderD([])).toThrow(/^CIDEr-D: no captions to score$/);
  });
});
