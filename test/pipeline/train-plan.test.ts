/**
 * The plan the Train view shows comes from the code that trains: the shared defaults, the split the run will use,
 * and the vocabulary counted by the trainer's rule (train captions only, words seen at least minCount times).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignSplits, loadDataset } from '../../src-main/data/dataset.ts';
import type { Dataset } from '../../src-main/data/dataset-types.ts';
import { epsilonAt } from '../../src-main/engine/schedules.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../src-main/engine/train-config.ts';
import { planRun } from '../../src-main/pipeline/train-plan.ts';
import { AppServices } from '../../src-main/services/app-services.ts';
import { writeSidecarDataset, SIDECAR_SAMPLES } from '../services/fixtures.ts';

let root: string;
let dir: string;
let dataset: Dataset;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-plan-'));
  // Twice the eight squares, so a split has something in each part.
  dir = await writeSidecarDataset(path.join(root, 'squares'), [...SIDECAR_SAMPLES, ...SIDECAR_SAMPLES.map((s) => ({ ...s, name: `b-${s.name}` }))]);
  dataset = await loadDataset(dir);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('planRun', () => {
  it('without a dataset: the defaults the CLI uses, and ε over 1,000 batches', () => {
    const plan = planRun(null);
    expect(plan.dataset).toBeNull();
    expect(plan.defaults).toMatchObject({
      epochs: DEFAULT_TRAIN_CONFIG.epochs,
      batchSize: DEFAULT_TRAIN_CONFIG.batchSize,
      hiddenDim: DEFAULT_TRAIN_CONFIG.hiddenDim,
      embedDim: DEFAULT_TRAIN_CONFIG.embedDim,
      learningRate: DEFAULT_TRAIN_CONFIG.learningRate.lr,
      minCount: DEFAULT_TRAIN_CONFIG.minWordCount,
      patience: DEFAULT_TRAIN_CONFIG.patience,
      schedule: DEFAULT_TRAIN_CONFIG.schedule,
      valFraction: 0.1,
      testFraction: 0.1,
      seed: 1,
    });
    expect(plan.epsilon.at(-1)).toEqual({ batch: 999, epsilon: epsilonAt(DEFAULT_TRAIN_CONFIG.schedule, 999) });
  });

  it("on a dataset: the seeded split's parts, the train examples, batches and the trainer's vocabulary", () => {
    const split = { seed: 3, valFraction: 0.25, testFraction: 0.25 };
    const plan = planRun(dataset, { epochs: 3, batchSize: 3, minCount: 2, split });
    const parts = assignSplits(dataset, split).items;
    const train = parts.filter((i) => i.split === 'train');
    expect(plan.dataset).toMatchObject({
      images: 16,
      captions: 16,
      trainImages: train.length,
      valImages: parts.filter((i) => i.split === 'val').length,
      testImages: parts.filter((i) => i.split === 'test').length,
      examples: train.length,
      minCount: 2,
      batchesPerEpoch: Math.ceil(train.length / 3),
      totalBatches: Math.ceil(train.length / 3) * 3,
    });
    // Words of the train captions seen at least twice (counted here by hand).
    const counts = new Map<string, number>();
    for (const item of train) for (const w of item.captions[0]!.split(' ')) counts.set(w, (counts.get(w) ?? 0) + 1);
    expect(plan.dataset!.vocabularySize).toBe([...counts.values()].filter((n) => n >= 2).length);
    expect(plan.epsilon.at(-1)!.batch).toBe(plan.dataset!.totalBatches - 1);
  });
});

describe("the contract's train.plan", () => {
  it('plans a dataset by path and refuses an invalid schedule in one line', async () => {
    const services = await AppServices.create({ mode: 'browser', dataDir: path.join(root, 'data'), cacheDir: path.join(root, 'cache'), builtinModelsDir: path.join(root, 'none') });
    try {
      const r = await services.call('train.plan', { dataset: { path: dir }, batchSize: 4 });
      expect(r.ok && r.value.dataset).toMatchObject({ images: 16, batchesPerEpoch: Math.ceil((r.ok ? r.value.dataset!.examples : 0) / 4) });
      const bad = await services.call('train.plan', { schedule: { type: 'exponential', k: 1.5 } });
      expect(bad).toMatchObject({ ok: false, code: 'validation' });
      expect(!bad.ok && bad.error).toMatch(/^train\.plan: invalid request — schedule: epsilon schedule 'exponential': k must be in \(0, 1\], got 1\.5$/);
    } finally {
      await services.close();
    }
  });
});
