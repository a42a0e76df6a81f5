import { describe, expect, it } from 'vitest';
import { corpusBleu } from '../../../src-main/engine/metrics/bleu.ts';

const words = (s: string): string[] => (s === '' ? [] : s.split(' '));
const pair = (hyp: string, refs: string[]) => ({ hyp: words(hyp), refs: refs.map(words) });

describe('corpusBleu', () => {
  it('matches a hand-worked example', () => {
    // hyp "the cat sat on the mat" (c = 6); refs "the cat is on the mat" (6), "there is a cat on the mat" (7).
    // closest ref length 6 → no brevity penalty.
    // 1-grams: the×2 (max ref count 2) cat on mat match, sat not → 5/6
    // 2-grams: the cat, on the, the mat match; cat sat, sat on not → 3/5
    // 3-grams: on the mat matches; the cat sat, cat sat on, sat on the not → 1/4
    // 4-grams: none of 3 → 0/3, smoothed to 1e-15 / (3 + 1e-9)
    const [b1, b2, b3, b4] = corpusBleu([pair('the cat sat on the mat', ['the cat is on the mat', 'there is a cat on the mat'])]);
    expect(b1).toBeCloseTo(5 / 6, 8);
    expect(b2).toBeCloseTo(Math.sqrt((5 / 6) * (3 / 5)), 8); // 1/√2
    expect(b3).toBeCloseTo(0.5, 8); // (5/6 · 3/5 · 1/4)^(1/3) = 0.125^(1/3)
    const expected4 = ((5 / 6) * (3 / 5) * (1 / 4) * (1e-15 / (3 + 1e-9))) ** (1 / 4);
    expect(b4! / expected4).toBeCloseTo(1, 6); // ≈ 8.0e-5, pycocoevalcap's smoothing, not 0
  });

  it('gives 1 for a hypothesis equal to a reference', () => {
    for (const b of corpusBleu([pair('a dog runs on the grass', ['a dog runs on the grass', 'something else entirely here'])])) {
      expect(b).toBeCloseTo(1, 8);
    }
  });

  it('applies the brevity penalty exp(1 − r/c) with the closest reference length', () => {
    // (Tolerances are 1e-8: the 1e-9 smoothing in each precision shifts the values by ~1e-9.)
    // hyp "a cat" (c = 2); refs of length 4 and 3 → r = 3, BP = exp(1 − 3/2) = exp(−0.5).
    // p1 = p2 = 1; no 3-grams: (0 + 1e-15)/(0 + 1e-9) = 1e-6, so BLEU-3 = (1e-6)^(1/3)·BP = 0.01·BP.
    const [b1, b2, b3] = corpusBleu([pair('a cat', ['a cat sits here', 'a small cat'])]);
    expect(b1).toBeCloseTo(Math.exp(-0.5), 8);
    expect(b2).toBeCloseTo(Math.exp(-0.5), 8);
    expect(b3).toBeCloseTo(0.01 * Math.exp(-0.5), 8);
  });

  it('breaks a closest-length tie towards the shorter reference', () => {
    // c = 4, refs of length 3 and 5 are equally close → r = 3 > c is false → no penalty, BLEU-1 = 1.
    // (Taking 5 would give exp(1 − 5/4).)
    expect(corpusBleu([pair('a b c d', ['a b c', 'a b c d e'])])[0]).toBeCloseTo(1, 8);
  });

  it('sums counts and lengths over the corpus before dividing', () => {
    // The two examples above: correct1 = 5 + 2, guess1 = 6 + 2; correct2 = 3 + 1, guess2 = 5 + 1;
    // c = 6 + 2 = 8, r = 6 + 3 = 9 → BP = exp(1 − 9/8).
    const [b1, b2] = corpusBleu([
      pair('the cat sat on the mat', ['the cat is on the mat', 'there is a cat on the mat']),
      pair('a cat', ['a cat sits here', 'a small cat']),
    ]);
    const bp = Math.exp(1 - 9 / 8);
    expect(b1).toBeCloseTo((7 / 8) * bp, 8);
    expect(b2).toBeCloseTo(Math.sqrt((7 / 8) * (4 / 6)) * bp, 8);
  });

  it('clips repeated words by the largest count in any one reference', () => {
    // "the the the the": the appears at most 2 times in one reference → 2/4; c = 4, closest r = 5 (not 2)
    // → BP = exp(1 − 5/4).
    expect(corpusBleu([pair('the the the the', ['the cat on the mat', 'the dog'])], 1)[0])
      .toBeCloseTo(0.5 * Math.exp(-0.25), 8);
  });

  it('rejects an empty corpus and missing references', () => {
    expect(() => corpusBleu([])).toThrow(/^BLEU: no captions to score$/);
    expect(() => corpusBleu([{ hyp: ['a'], refs: [] }])).toThrow(/^BLEU: item 0 has no reference captions$/);
  });
});
