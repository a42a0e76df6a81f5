import { describe, expect, it } from 'vitest';
import { lcsLength, rougeL } from '../../../src-main/engine/metrics/rouge.ts';

const words = (s: string): string[] => (s === '' ? [] : s.split(' '));
const pair = (hyp: string, refs: string[]) => ({ hyp: words(hyp), refs: refs.map(words) });

describe('lcsLength', () => {
  it('measures the longest common subsequence', () => {
    expect(lcsLength(words('the cat sat on the mat'), words('the cat is on the mat'))).toBe(5);
    expect(lcsLength(words('the cat sat on the mat'), words('there is a cat on the mat'))).toBe(4);
    expect(lcsLength(words('a b c'), words('c b a'))).toBe(1);
    expect(lcsLength([], words('a'))).toBe(0);
  });
});

describe('rougeL', () => {
  it('matches hand-worked values', () => {
    // LCS 5 with ref 1 → P = R = 5/6; with ref 2 LCS 4 → P 4/6, R 4/7. max P = max R = 5/6 → F = 5/6.
    expect(rougeL([pair('the cat sat on the mat', ['the cat is on the mat', 'there is a cat on the mat'])]).score)
      .toBeCloseTo(5 / 6, 12);
    // P = 3/3, R = 3/7: F = 2.44·(3/7) / (3/7 + 1.44) = 7.32 / 13.08
    expect(rougeL([pair('a dog runs', ['a dog runs fast on the grass'])]).score).toBeCloseTo(7.32 / 13.08, 12);
  });

  it('takes max precision and max recall separately, as pycocoevalcap does', () => {
    // ref 1 gives P = 1, R = 3/7; ref 2 ("dog") gives P = 1/3, R = 1 → max P = 1, max R = 1 → F = 1.
    expect(rougeL([pair('a dog runs', ['a dog runs fast on the grass', 'dog'])]).score).toBeCloseTo(1, 12);
  });

  it('is 1 for an identical caption, 0 with nothing in common, and averages over images', () => {
    const result = rougeL([pair('a red bus', ['a red bus']), pair('a cat', ['two dogs']), pair('', ['a b'])]);
    expect(result.perItem).toEqual([1, 0, 0]);
    expect(result.score).toBeCloseTo(1 / 3, 12);
  });
});
