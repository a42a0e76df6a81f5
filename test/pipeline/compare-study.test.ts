/**
 * The scheduled-sampling study in process, on the generated shapes (48 pictures) with a tiny model and a small
 * colour-grid encoder (so it takes seconds): 5 schedules × 2 seeds give the table, CSV, JSON, PNG and best model;
 * the runs differ only by schedule (same vocabulary, same first batch at the same seed); an abort in the middle of
 * the 4th run resumes from that run's checkpoint without redoing the 3 finished runs, and the table equals an
 * uninterrupted study's.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parse } from 'csv-parse/sync';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FeatureEncoder } from '../../src-main/data/feature-cache.ts';
import { initBackend } from '../../src-main/engine/backend.ts';
import { readBundleInfo } from '../../src-main/engine/bundle.ts';
import { EPSILON_SCHEDULE_TYPES, type EpsilonScheduleType } from '../../src-main/engine/schedules.ts';
import { compareSchedules, runId, type CompareEvents, type CompareOptions, type CompareResult, type RunRef } from '../../src-main/pipeline/compare-study.ts';
import { CAPTION_METRICS } from '../../src-main/engine/metrics/metric-names.ts';
import { meanSd } from '../../src-main/pipeline/compare-table.ts';
import { CancelledError } from '../../src-main/util/progress.ts';
import { tempDir, writeShapesDataset } from '../cli/cli-fixtures.ts';

/** Mean colour of each cell of a 4×4 grid, from the 224×224 RGB pixels: enough to tell the shapes' colours apart. */
const gridEncoder: FeatureEncoder = {
  id: 'test-colour-grid-4x4',
  featureDim: 48,
  encode: async (pixels) => ({
    features: pixels.map((p) => {
      const f = new Float32Array(48);
      for (let y = 0; y < 224; y++) {
        for (let x = 0; x < 224; x++) {
          const cell = Math.floor(y / 56) * 4 + Math.floor(x / 56);
          for (let c = 0; c < 3; c++) f[cell * 3 + c]! += p[(y * 224 + x) * 3 + c]! / (255 * 56 * 56);
        }
      }
      return f;
    }),
  }),
};

const SCHEDULES: readonly EpsilonScheduleType[] = ['none', 'always', 'linear', 'exponential', 'inverse-sigmoid'];

let root: string;
let cleanup: () => Promise<void>;
let dataset: string;

function options(outDir: string, signal?: AbortSignal): CompareOptions {
  return {
    dataset: { path: dataset },
    schedules: SCHEDULES,
    seeds: 2,
    config: { epochs: 4, batchSize: 8, hiddenDim: 24, embedDim: 12, minWordCount: 1, dropout: 0, learningRate: { lr: 0.02 } },
    split: { seed: 1, valFraction: 0.2, testFraction: 0.2 },
    outDir,
    encoder: gridEncoder,
    cacheDir: path.join(root, 'cache'),
    ...(signal ? { signal } : {}),
  };
}

/** What a study told its front end. */
function recorder(): { events: CompareEvents; log: string[] } {
  const log: string[] = [];
  return {
    log,
    events: {
      onRunStart: (r) => log.push(`start ${r.id}${r.resumed ? ` resumed after epochs ${r.epochsBefore.map((e) => e.epoch).join(',')}` : ''}`),
      onEpoch: (r, e) => log.push(`epoch ${r.id} ${e.epoch}`),
      onRunDone: (r, _res, skipped) => log.push(`${skipped ? 'skipped' : 'done'} ${r.id}`),
    },
  };
}

let whole: CompareResult;
let wholeDir: string;

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  ({ dir: root, cleanup } = await tempDir('cs-compare-'));
  dataset = path.join(root, 'shapes');
  await writeShapesDataset(dataset, { variants: 2 });
  wholeDir = path.join(root, 'whole');
  whole = await compareSchedules(options(wholeDir));
});

afterAll(async () => {
  await cleanup();
});

describe('compareSchedules', () => {
  it('gives one row per schedule: the mean ± sd of its two runs, and ε as each schedule defines it', () => {
    expect(whole.rows.map((r) => r.schedule)).toEqual(SCHEDULES);
    expect(whole.runs).toHaveLength(10);
    for (const row of whole.rows) {
      const mine = whole.runs.filter((r) => r.schedule === row.schedule);
      expect(mine.map((r) => r.seed)).toEqual([1, 2]);
      for (const [key] of CAPTION_METRICS) {
        expect(row.test[key]).toEqual(meanSd(mine.map((r) => r.test[key])));
        expect(row.test[key].mean).toBeGreaterThanOrEqual(0);
      }
      expect(row.valCiderD).toHaveLength(4);
    }
    const eps = Object.fromEntries(whole.rows.map((r) => [r.schedule, r.finalEpsilon]));
    expect(eps.none).toBe(1);
    expect(eps.always).toBe(0);
    // The presets' floor is 0.75; 4 epochs of 4 batches take the decaying ones below 1 but not to it.
    for (const s of ['linear', 'exponential', 'inverse-sigmoid']) {
      expect(eps[s]).toBeLessThan(1);
      expect(eps[s]).toBeGreaterThanOrEqual(0.75);
    }
    // Every run scored the same held-out images, the test split (20% of 48).
    expect(new Set(whole.runs.map((r) => r.testImages))).toEqual(new Set([whole.testImages]));
    expect(whole.testImages).toBe(10);
  });

  it('trains the runs with everything but the schedule equal: same vocabulary, same first batch per seed', async () => {
    const training = async (id: string): Promise<{ vocab: unknown; batchLog: { loss: number; teacherForced: number }[] }> => {
      const info = await readBundleInfo(path.join(wholeDir, 'runs', id, 'best'));
      const meta = info.metadata as unknown as { training: { batchLog: { loss: number; teacherForced: number }[] } };
      const json = JSON.parse(await readFile(path.join(wholeDir, 'runs', id, 'best', 'model.json'), 'utf8')) as { vocabulary: unknown };
      return { vocab: json.vocabulary, batchLog: meta.training.batchLog };
    };
    const runs = await Promise.all(whole.runs.map((r) => training(r.id)));
    for (const r of runs) expect(r.vocab).toEqual(runs[0]!.vocab);
    for (const seed of [1, 2]) {
      // ε_0 = 1 for none, linear and exponential: the same initial weights and first batch give the same loss.
      const first = await Promise.all(['none', 'linear', 'exponential'].map(async (s) => (await training(runId(s as EpsilonScheduleType, seed))).batchLog[0]!.loss));
      expect(first[1]).toBe(first[0]);
      expect(first[2]).toBe(first[0]);
    }
    expect((await training('none-seed1')).batchLog[0]!.loss).not.toBe((await training('none-seed2')).batchLog[0]!.loss);
    // Teacher forcing throughout for none, the model's own words throughout for always.
    expect((await training('none-seed1')).batchLog.every((b) => b.teacherForced === 1)).toBe(true);
    expect((await training('always-seed1')).batchLog.every((b) => b.teacherForced === 0)).toBe(true);
  });

  it('writes the table as CSV and JSON, the chart as PNG, and keeps the run with the best validation CIDEr-D', async () => {
    const csv = parse(await readFile(whole.files.csv, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(csv.map((r) => r.schedule)).toEqual(SCHEDULES);
    expect(Number(csv[0]!.ciderD_mean)).toBeCloseTo(whole.rows[0]!.test.ciderD.mean, 4);
    expect(Number(csv[0]!.ciderD_sd)).toBeCloseTo(whole.rows[0]!.test.ciderD.sd!, 4);
    const json = JSON.parse(await readFile(whole.files.json, 'utf8')) as { rows: unknown[]; runs: { id: string; epochs: { valCiderD: number | null }[] }[]; config: { patience: number; epochs: number } };
    expect(json.rows).toHaveLength(5);
    expect(json.runs.map((r) => r.epochs.length)).toEqual(Array(10).fill(4));
    expect(json.config).toMatchObject({ patience: 0, epochs: 4 });
    const png = await sharp(whole.files.png).metadata();
    expect([png.format, png.width, png.height]).toEqual(['png', 900, 540]);
    const bestVal = Math.max(...whole.runs.map((r) => r.bestValCiderD ?? -1));
    expect(whole.runs.find((r) => r.id === whole.best.id)!.bestValCiderD).toBe(bestVal);
    const kept = await readBundleInfo(whole.best.modelDir);
    expect(kept.metadata.name).toContain(`${whole.best.schedule} · seed ${whole.best.seed}`);
  });

  it('resumes after an abort in the 4th run: 3 finished runs are read back, the 4th continues from its checkpoint', async () => {
    const dir = path.join(root, 'interrupted');
    const controller = new AbortController();
    const first = recorder();
    // Abort once the 4th run (index 3) has finished its 2nd epoch: its checkpoint holds 2 epochs.
    const abortAt = (r: RunRef, epoch: number): void => {
      if (r.index === 3 && epoch === 2) controller.abort();
    };
    await expect(
      compareSchedules(options(dir, controller.signal), { ...first.events, onEpoch: (r, e) => (first.events.onEpoch?.(r, e), abortAt(r, e.epoch)) }),
    ).rejects.toThrow(CancelledError);
    expect(first.log.filter((l) => l.startsWith('done'))).toHaveLength(3);

    const tensors = tf.memory().numTensors;
    const second = recorder();
    const resumed = await compareSchedules(options(dir), second.events);
    expect(tf.memory().numTensors).toBe(tensors);
    const fourth = whole.runs[3]!.id;
    expect(second.log.filter((l) => l.startsWith('skipped'))).toEqual(whole.runs.slice(0, 3).map((r) => `skipped ${r.id}`));
    expect(second.log).toContain(`start ${fourth} resumed after epochs 1,2`);
    expect(second.log.filter((l) => l.startsWith(`epoch ${fourth}`))).toEqual([`epoch ${fourth} 3`, `epoch ${fourth} 4`]);
    expect(second.log.filter((l) => l.startsWith('start'))).toHaveLength(7);
    expect(resumed.trained).toBe(7);
    // The same table as the uninterrupted study (times aside).
    const figures = (r: CompareResult): unknown => r.runs.map(({ trainSeconds: _t, ...rest }) => rest);
    expect(figures(resumed)).toEqual(figures(whole));
    expect(resumed.rows).toEqual(whole.rows);
    expect(await readFile(resumed.files.csv, 'utf8')).toBe(await readFile(whole.files.csv, 'utf8'));
    expect(resumed.best.id).toBe(whole.best.id);
  });

  it('tables part of a study without training, and refuses a folder holding a study with other settings', async () => {
    const part = await compareSchedules({ ...options(wholeDir), schedules: ['always', 'none'], seeds: 1 });
    expect(part.trained).toBe(0);
    expect(part.runs).toEqual([whole.runs.find((r) => r.id === 'always-seed1'), whole.runs.find((r) => r.id === 'none-seed1')]);
    expect(part.rows.map((r) => [r.schedule, r.runs, r.test.ciderD])).toEqual([
      ['always', 1, { mean: part.runs[0]!.test.ciderD, sd: null }],
      ['none', 1, { mean: part.runs[1]!.test.ciderD, sd: null }],
    ]);
    await expect(compareSchedules({ ...options(wholeDir), config: { ...options(wholeDir).config, epochs: 5 } })).rejects.toThrow(
      /holds a study with other settings \(config differ\)/,
    );
    await expect(compareSchedules({ ...options(wholeDir), schedules: ['none', 'bogus' as EpsilonScheduleType] })).rejects.toThrow(
      `unknown schedule 'bogus': choose from ${EPSILON_SCHEDULE_TYPES.join(', ')}`,
    );
  });
});
