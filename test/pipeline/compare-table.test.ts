/** The study table's arithmetic and formats, against figures worked out by hand. */
import { describe, expect, it } from 'vitest';
import { formatMeanSd, meanCurve, meanSd } from '../../src-main/pipeline/compare-table.ts';
import { chartSvg } from '../../src-main/pipeline/compare-chart.ts';

describe('compare table', () => {
  it('meanSd: the mean and the sample standard deviation (n − 1), none for one value', () => {
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum 32, sample sd √(32/7).
    expect(meanSd([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({ mean: 5, sd: Math.sqrt(32 / 7) });
    expect(meanSd([0.3])).toEqual({ mean: 0.3, sd: null });
    expect(() => meanSd([])).toThrow('meanSd: no values');
    expect(formatMeanSd({ mean: 0.30649, sd: 0.01234 })).toBe('0.306 ± 0.012');
    expect(formatMeanSd({ mean: 0.3, sd: null })).toBe('0.300');
  });

  it('meanCurve: per epoch, the mean over the runs that reached it; null where none has a figure', () => {
    const runs = [
      { epochs: [{ epoch: 1, valCiderD: 0.2 }, { epoch: 2, valCiderD: 0.4 }, { epoch: 3, valCiderD: null }] },
      { epochs: [{ epoch: 1, valCiderD: 0.4 }] },
    ];
    const curve = meanCurve(runs);
    expect(curve[0]).toBeCloseTo(0.3, 12);
    expect(curve.slice(1)).toEqual([0.4, null]);
  });

  it('chartSvg: one thick line per schedule over its runs, and a legend entry each', () => {
    const svg = chartSvg(
      [
        { schedule: 'none', mean: [0.1, 0.2], runs: [[0.1, 0.1], [0.1, 0.3]] },
        { schedule: 'always', mean: [0.05, null], runs: [[0.05, null]] },
      ],
      'a <title>',
    );
    expect(svg.match(/stroke-width="2.5"/g)).toHaveLength(2);
    expect(svg.match(/stroke-opacity="0.35"/g)).toHaveLength(3);
    expect(svg).toContain('>a &lt;title&gt;<');
    expect(svg).toContain('>none</text>');
    expect(svg).toContain('>always</text>');
  });
});
