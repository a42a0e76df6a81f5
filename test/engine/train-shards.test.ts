/**
 * How the data-parallel pool splits a mini-batch (engine/parallel/train-protocol.ts balancedRanges): contiguous
 * shards covering every row once, of about as many target tokens each, rows of long captions not counted as short.
 */
import { describe, expect, it } from 'vitest';
import { balancedRanges, evenRange } from '../../src-main/engine/parallel/train-protocol.ts';

/** Every row in exactly one shard, in order. */
function expectCover(ranges: { lo: number; hi: number }[], n: number): void {
  expect(ranges[0]!.lo).toBe(0);
  expect(ranges.at(-1)!.hi).toBe(n);
  ranges.forEach((r, k) => {
    expect(r.hi).toBeGreaterThanOrEqual(r.lo);
    if (k > 0) expect(r.lo).toBe(ranges[k - 1]!.hi);
  });
}

const sum = (w: number[], r: { lo: number; hi: number }): number => w.slice(r.lo, r.hi).reduce((a, b) => a + b, 0);

describe('balancedRanges', () => {
  it('splits equal rows into shards whose sizes differ by at most one (as evenRange does)', () => {
    for (const [n, parts] of [[13, 2], [64, 2], [10, 3], [7, 4]] as const) {
      const ranges = balancedRanges(new Array<number>(n).fill(5), parts);
      expectCover(ranges, n);
      const sizes = ranges.map((r) => r.hi - r.lo);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    }
    expect(balancedRanges(new Array<number>(13).fill(5), 2)).toEqual([evenRange(13, 0, 2), evenRange(13, 1, 2)]);
  });

  it('gives each worker about as many tokens, not as many rows', () => {
    // 16 long captions then 16 short ones: by rows, the first worker would get 16 × 15 = 240 tokens, the second 80.
    const weights = [...new Array<number>(16).fill(15), ...new Array<number>(16).fill(5)];
    const [a, b] = balancedRanges(weights, 2) as [{ lo: number; hi: number }, { lo: number; hi: number }];
    expectCover([a, b], 32);
    expect(sum(weights, a)).toBe(165);
    expect(sum(weights, b)).toBe(155);
    expect(a.hi).toBe(11);
  });

  it('puts each boundary at the row nearest its share, and may leave a shard empty', () => {
    // One row outweighs a third of the total: it makes a shard alone (the heaviest load cannot be less), one shard
    // takes the rest, one is empty.
    const weights = [100, 1, 1, 1];
    const ranges = balancedRanges(weights, 3);
    expectCover(ranges, 4);
    expect(ranges.map((r) => sum(weights, r)).sort((a, b) => a - b)).toEqual([0, 3, 100]);
    expect(balancedRanges([1, 1, 1, 1, 1, 1, 9], 2).map((r) => sum([1, 1, 1, 1, 1, 1, 9], r))).toEqual([6, 9]);
    // No tokens at all: rows are split evenly.
    expect(balancedRanges([0, 0, 0, 0], 2)).toEqual([evenRange(4, 0, 2), evenRange(4, 1, 2)]);
  });
});
