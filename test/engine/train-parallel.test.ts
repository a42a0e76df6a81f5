/**
 * Data-parallel training (engine/parallel): one and two workers from the same seed train the same weights (up to
 * floating-point summation order), a two-worker run cancelled mid-epoch resumes exactly, and a diverged step
 * changes nothing in either.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import { disposeCheckpointTensors, loadCheckpoint } from '../../src-main/engine/checkpoint.ts';
import { disposeCaptionModel } from '../../src-main/engine/caption-model.ts';
import { disposeDecoderWeights, initDecoderWeights } from '../../src-main/engine/decoder.ts';
import { END, type CaptionBatch, type DecoderConfig, type DecoderWeights } from '../../src-main/engine/model-types.ts';
import { Adam } from '../../src-main/engine/optimizer.ts';
import { optimisationStep } from '../../src-main/engine/parallel/optimisation-step.ts';
import { TrainPool } from '../../src-main/engine/parallel/train-pool.ts';
import { train } from '../../src-main/engine/train.ts';
import { CancelledError } from '../../src-main/util/progress.ts';
import { SMALL_CONFIG, syntheticData } from './train-fixtures.ts';

let root: string;
beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  root = await mkdtemp(path.join(tmpdir(), 'cs-train-parallel-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const data = syntheticData(6, 1);
// Batches of 13 rows: shards of different row counts, and a last batch of 72 mod 13 = 7 rows.
const config = { ...SMALL_CONFIG, epochs: 1, batchSize: 13, valMaxImages: 0 };

/** Weights and Adam moments of a run's latest checkpoint, as plain arrays. */
async function checkpointState(runDir: string): Promise<Record<string, Float32Array>> {
  const ckpt = await loadCheckpoint(path.join(runDir, 'latest'));
  const out: Record<string, Float32Array> = {};
  for (const [name, t] of Object.entries(ckpt.tensors.weights)) out[name] = t.dataSync() as Float32Array;
  for (const [name, t] of Object.entries(ckpt.tensors.adam.m)) out[`m/${name}`] = t.dataSync() as Float32Array;
  for (const [name, t] of Object.entries(ckpt.tensors.adam.v)) out[`v/${name}`] = t.dataSync() as Float32Array;
  disposeCheckpointTensors(ckpt.tensors);
  return out;
}

async function run(name: string, workers: number, extra: Partial<Parameters<typeof train>[0]> = {}) {
  const result = await train({ data, config, runDir: path.join(root, name), workers, overwrite: true, ...extra });
  disposeCaptionModel(result.model);
  return result;
}

/** max |a − b| / max |a| over one tensor. */
function relativeDifference(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let k = 0; k < a.length; k++) {
    diff = Math.max(diff, Math.abs(a[k]! - b[k]!));
    scale = Math.max(scale, Math.abs(a[k]!));
  }
  return scale > 0 ? diff / scale : diff;
}

describe('data-parallel training', () => {
  it('1 and 2 workers from the same seed give the same weights (1e-5 relative) after one epoch', async () => {
    const before = tf.memory().numTensors;
    const one = await run('one', 1);
    const two = await run('two', 2);
    expect(tf.memory().numTensors).toBe(before);
    expect(two.batchLog).toHaveLength(Math.ceil(72 / 13));
    two.batchLog.forEach((b, k) => {
      const a = one.batchLog[k]!;
      expect(b.tokens).toBe(a.tokens);
      expect(b.teacherForced).toBe(a.teacherForced);
      expect(Math.abs(b.loss - a.loss)).toBeLessThan(1e-5 * a.loss);
      expect(Math.abs(b.gradNorm - a.gradNorm)).toBeLessThan(1e-5 * a.gradNorm);
    });
    const a = await checkpointState(path.join(root, 'one'));
    const b = await checkpointState(path.join(root, 'two'));
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const name of Object.keys(a)) expect(relativeDifference(a[name]!, b[name]!), name).toBeLessThan(1e-5);
    // Not trivially equal: training moved the weights.
    const init = await run('tiny-lr', 1, { config: { ...config, learningRate: { lr: 1e-12, minLr: 0 } } });
    expect(init.batchLog).toHaveLength(two.batchLog.length);
    const untouched = await checkpointState(path.join(root, 'tiny-lr'));
    expect(relativeDifference(a.W_out!, untouched.W_out!)).toBeGreaterThan(1e-3);
  });

  it('a 2-worker run cancelled mid-epoch resumes to exactly the uninterrupted run', async () => {
    const full = await run('full', 2, { config: { ...config, epochs: 2 } });
    const runDir = path.join(root, 'cut');
    const controller = new AbortController();
    await expect(
      train({
        data,
        config: { ...config, epochs: 2 },
        runDir,
        workers: 2,
        signal: controller.signal,
        onBatch: (b) => {
          if (b.batch === 7) controller.abort();
        },
      }),
    ).rejects.toThrow(CancelledError);
    const resumed = await train({ data, runDir, workers: 2, resume: true });
    disposeCaptionModel(resumed.model);
    expect(resumed.batchLog.map((b) => b.loss)).toEqual(full.batchLog.map((b) => b.loss));
    expect(await checkpointState(runDir)).toEqual(await checkpointState(path.join(root, 'full')));
  });

  it('a step whose loss is not finite applies nothing and says so, with 1 worker and with 2; the next step goes on', async () => {
    const cfg: DecoderConfig = { vocabSize: 30, embedDim: 8, hiddenDim: 12, featureDim: 6, injection: 'every', dropout: 0 };
    const adamConfig = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
    const batchOf = (feature: number): CaptionBatch => {
      const tokens = new Int32Array(4 * 5);
      for (let b = 0; b < 4; b++) tokens.set([1, 5 + b, 6 + b, 7, END], b * 5);
      return { features: tf.fill([4, cfg.featureDim], feature), tokens, batchSize: 4, length: 5 };
    };
    const values = (w: DecoderWeights): number[] => Object.values(w).flatMap((t) => Array.from(t.dataSync()));
    const settings = { batchSeed: 1, epsilon: 1, sampling: 'argmax' as const, lr: 0.01, clipNorm: 5, where: 'batch 3 (epoch 1)' };
    for (const workers of [1, 2]) {
      const weights = initDecoderWeights(cfg, 8);
      const adam = new Adam(weights, adamConfig);
      const pool = workers > 1 ? await TrainPool.start({ workers, decoderConfig: cfg, adamConfig, weights, adam }) : null;
      const [bad, good] = [batchOf(NaN), batchOf(0.5)];
      try {
        const before = values(weights);
        await expect(optimisationStep({ weights, adam, decoderConfig: cfg, pool }, bad, settings)).rejects.toThrow(/diverged at batch 3 \(epoch 1\): loss .*, gradient norm NaN/);
        await pool?.syncInto(weights, adam);
        expect(values(weights), `${workers} worker(s)`).toEqual(before);
        expect(adam.step).toBe(0);
        const step = await optimisationStep({ weights, adam, decoderConfig: cfg, pool }, good, settings);
        expect(Number.isFinite(step.loss) && step.gradNorm > 0).toBe(true);
        await pool?.syncInto(weights, adam);
        expect(adam.step).toBe(1);
        expect(values(weights)).not.toEqual(before);
      } finally {
        await pool?.close();
        tf.dispose([bad.features, good.features]);
        adam.dispose();
        disposeDecoderWeights(weights);
      }
    }
  });
});
