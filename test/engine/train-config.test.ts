import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TRAIN_CONFIG,
  configDifferences,
  parseTrainConfig,
  resolveTrainConfig,
} from '../../src-main/engine/train-config.ts';

describe('resolveTrainConfig', () => {
  it('fills defaults, nested objects field by field', () => {
    const c = resolveTrainConfig({ hiddenDim: 32, learningRate: { lr: 0.01 } });
    expect(c.hiddenDim).toBe(32);
    expect(c.learningRate).toEqual({ ...DEFAULT_TRAIN_CONFIG.learningRate, lr: 0.01 });
    expect(c.batchSize).toBe(64);
    expect(resolveTrainConfig()).toEqual(DEFAULT_TRAIN_CONFIG);
  });

  it('rejects bad fields with a one-line message naming the field', () => {
    expect(() => resolveTrainConfig({ batchSize: 0 })).toThrow(/^train config: batchSize: /);
    expect(() => resolveTrainConfig({ dropout: 1 })).toThrow(/dropout/);
    expect(() => resolveTrainConfig({ schedule: { type: 'exponential', k: 2 } })).toThrow(/exponential.*k must be in/);
    expect(() => resolveTrainConfig({ learningRate: { decayRate: 3 } })).toThrow(/decayRate/);
    expect(() => parseTrainConfig({ ...DEFAULT_TRAIN_CONFIG, extra: 1 }, 'x.json')).toThrow(/^x\.json: /);
  });
});

describe('configDifferences', () => {
  it('names each differing field with both values, nested paths dotted', () => {
    const a = resolveTrainConfig({ hiddenDim: 512 });
    const b = resolveTrainConfig({ hiddenDim: 256, learningRate: { lr: 0.01 }, schedule: { type: 'none' } });
    expect(configDifferences(a, b)).toEqual([
      'hiddenDim: checkpoint 512, requested 256',
      'learningRate.lr: checkpoint 0.002, requested 0.01',
      'schedule.type: checkpoint inverse-sigmoid, requested none',
      'schedule.k: checkpoint 150, requested (unset)',
      'schedule.epsMin: checkpoint 0.75, requested (unset)',
    ]);
  });

  it('lets epochs and patience change on resume', () => {
    const a = resolveTrainConfig({ epochs: 5 });
    expect(configDifferences(a, resolveTrainConfig({ epochs: 10, patience: 1 }))).toEqual([]);
    expect(configDifferences(a, resolveTrainConfig({ epochs: 10 }), [])).toEqual(['epochs: checkpoint 5, requested 10']);
  });
});
