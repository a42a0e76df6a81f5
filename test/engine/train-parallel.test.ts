/**
 * Data-parallel training (engine/parallel): one and two workers from the same seed train the same weights (up to
 * floating-point summation order), and a two-worker run cancelled mid-epoch resumes exactly.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import { disposeCheckpointTensors, loadCheckpoint } from '../../src-main/engine/checkpoint.ts';
import { disposeCaptionModel } from '../../src-main/engine/caption-model.ts';
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
// Batches of 13 rows: uneven shards (6 + 7), and a last batch of 72 mod 13 = 7 rows.
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
});
