import { describe, expect, it } from 'vitest';
import {
  epsilonAt,
  epsilonCurve,
  learningRateAt,
  plannedBatches,
  validateEpsilonSchedule,
  validateLearningRateSchedule,
  type EpsilonSchedule,
} from '../../src-main/engine/schedules.ts';

describe('epsilonAt', () => {
  it('none is always teacher forcing and always is never', () => {
    for (const i of [0, 1, 100, 1e6]) {
      expect(epsilonAt({ type: 'none' }, i)).toBe(1);
      expect(epsilonAt({ type: 'always' }, i)).toBe(0);
    }
  });

  it('linear: max(epsMin, k − c·i), by hand', () => {
    const s: EpsilonSchedule = { type: 'linear', k: 1, c: 0.01, epsMin: 0.25 };
    expect(epsilonAt(s, 0)).toBe(1);
    expect(epsilonAt(s, 10)).toBeCloseTo(0.9, 12);
    expect(epsilonAt(s, 50)).toBeCloseTo(0.5, 12);
    expect(epsilonAt(s, 75)).toBeCloseTo(0.25, 12);
    expect(epsilonAt(s, 76)).toBe(0.25); // clamped at epsMin
    expect(epsilonAt(s, 10_000)).toBe(0.25);
  });

  it('linear clamps to 1 when k > 1', () => {
    const s: EpsilonSchedule = { type: 'linear', k: 1.5, c: 0.1, epsMin: 0 };
    expect(epsilonAt(s, 0)).toBe(1);
    expect(epsilonAt(s, 5)).toBe(1); // 1.5 − 0.5 = 1
    expect(epsilonAt(s, 6)).toBeCloseTo(0.9, 12);
    expect(epsilonAt(s, 100)).toBe(0);
  });

  it('exponential: k^i, by hand, with an optional floor', () => {
    const s: EpsilonSchedule = { type: 'exponential', k: 0.5 };
    expect(epsilonAt(s, 0)).toBe(1);
    expect(epsilonAt(s, 1)).toBe(0.5);
    expect(epsilonAt(s, 3)).toBe(0.125);
    expect(epsilonAt({ type: 'exponential', k: 0.99 }, 100)).toBeCloseTo(0.36603234127322950, 12);
    expect(epsilonAt({ type: 'exponential', k: 0.5, epsMin: 0.2 }, 3)).toBe(0.2);
  });

  it('inverse sigmoid: k / (k + exp(i/k)), by hand', () => {
    const s: EpsilonSchedule = { type: 'inverse-sigmoid', k: 10 };
    expect(epsilonAt(s, 0)).toBeCloseTo(10 / 11, 12);
    expect(epsilonAt(s, 10)).toBeCloseTo(10 / (10 + Math.E), 12); // 0.786270…
    expect(epsilonAt(s, 10)).toBeCloseTo(0.7862697, 6);
    // ε = 0.5 where exp(i/k) = k, i.e. i = k·ln k = 23.03 for k = 10.
    expect(epsilonAt(s, 23)).toBeGreaterThan(0.5);
    expect(epsilonAt(s, 24)).toBeLessThan(0.5);
    // exp overflows for huge i: ε is 0, not NaN.
    expect(epsilonAt(s, 1e6)).toBe(0);
    expect(epsilonAt({ type: 'inverse-sigmoid', k: 10, epsMin: 0.3 }, 1e6)).toBe(0.3);
  });

  it('every decaying schedule is monotone non-increasing and stays in [0, 1]', () => {
    const schedules: EpsilonSchedule[] = [
      { type: 'linear', k: 1, c: 0.003, epsMin: 0.1 },
      { type: 'exponential', k: 0.995 },
      { type: 'inverse-sigmoid', k: 50 },
      { type: 'inverse-sigmoid', k: 1 },
    ];
    for (const s of schedules) {
      let prev = Infinity;
      for (let i = 0; i < 2000; i++) {
        const e = epsilonAt(s, i);
        expect(e).toBeGreaterThanOrEqual(0);
        expect(e).toBeLessThanOrEqual(1);
        expect(e).toBeLessThanOrEqual(prev);
        prev = e;
      }
    }
  });

  it('rejects a negative or fractional batch index and bad parameters, naming the reason', () => {
    expect(() => epsilonAt({ type: 'none' }, -1)).toThrow(/batch index/);
    expect(() => epsilonAt({ type: 'none' }, 1.5)).toThrow(/batch index/);
    expect(() => validateEpsilonSchedule({ type: 'exponential', k: 1.2 })).toThrow(/exponential.*k must be in \(0, 1\]/);
    expect(() => validateEpsilonSchedule({ type: 'inverse-sigmoid', k: 0.5 })).toThrow(/inverse-sigmoid.*k must/);
    expect(() => validateEpsilonSchedule({ type: 'linear', k: 1, c: -1, epsMin: 0 })).toThrow(/linear.*c must/);
    expect(() => validateEpsilonSchedule({ type: 'linear', k: 1, c: 0.1, epsMin: 2 })).toThrow(/epsMin/);
    expect(() => validateEpsilonSchedule({ type: 'inverse-sigmoid', k: 100, epsMin: 0.5 })).not.toThrow();
  });
});

describe('epsilonCurve', () => {
  it('samples a planned run, first and last batch included', () => {
    const s: EpsilonSchedule = { type: 'linear', k: 1, c: 0.01, epsMin: 0 };
    const curve = epsilonCurve(s, 101, 11);
    expect(curve.map((p) => p.batch)).toEqual([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(curve[5]!.epsilon).toBeCloseTo(0.5, 12);
    expect(curve[10]!.epsilon).toBeCloseTo(0, 12);
  });

  it('gives every batch when the run is short, and nothing for an empty run', () => {
    const curve = epsilonCurve({ type: 'exponential', k: 0.5 }, 4);
    expect(curve).toEqual([
      { batch: 0, epsilon: 1 },
      { batch: 1, epsilon: 0.5 },
      { batch: 2, epsilon: 0.25 },
      { batch: 3, epsilon: 0.125 },
    ]);
    expect(epsilonCurve({ type: 'none' }, 0)).toEqual([]);
  });

  it('counts planned batches with a short last batch', () => {
    expect(plannedBatches(130, 64, 3)).toBe(9);
    expect(plannedBatches(128, 64, 3)).toBe(6);
    expect(plannedBatches(0, 64, 3)).toBe(0);
  });
});

describe('learningRateAt', () => {
  const s = { lr: 0.002, decayRate: 0.5, decayEvery: 2, decayStart: 1, minLr: 0.0003 };

  it('holds lr before decayStart, then halves every decayEvery epochs down to minLr', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((e) => learningRateAt(s, e))).toEqual([
      0.002, 0.002, 0.002, 0.001, 0.001, 0.0005, 0.0005, 0.0003,
    ]);
    expect(learningRateAt(s, 100)).toBe(0.0003);
  });

  it('is constant with decayRate 1', () => {
    expect(learningRateAt({ ...s, decayRate: 1 }, 50)).toBe(0.002);
  });

  it('rejects bad schedules and epochs', () => {
    expect(() => learningRateAt(s, -1)).toThrow(/epoch/);
    expect(() => validateLearningRateSchedule({ ...s, decayRate: 1.5 })).toThrow(/decayRate/);
    expect(() => validateLearningRateSchedule({ ...s, lr: 0 })).toThrow(/lr must/);
    expect(() => validateLearningRateSchedule({ ...s, decayEvery: 0 })).toThrow(/decayEvery/);
    expect(() => validateLearningRateSchedule(s)).not.toThrow();
  });
});
