import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import {
  disposeCheckpointTensors,
  loadCheckpoint,
  readCheckpointMeta,
  saveCheckpoint,
  type CheckpointMeta,
} from '../../src-main/engine/checkpoint.ts';
import { resolveTrainConfig } from '../../src-main/engine/train-config.ts';
import { Rng } from '../../src-main/util/rng.ts';

let root: string;
beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  root = await mkdtemp(path.join(tmpdir(), 'cs-checkpoint-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function meta(epoch: number): CheckpointMeta {
  const rng = new Rng(7);
  return {
    config: resolveTrainConfig({ hiddenDim: 4, embedDim: 3 }),
    decoderConfig: { vocabSize: 5, embedDim: 3, hiddenDim: 4, featureDim: 2, injection: 'every', dropout: 0 },
    vocabulary: { tokens: ['<pad>', '<start>', '<end>', '<unk>', 'cat'] },
    encoderId: 'test-encoder',
    dataFingerprint: 'abc',
    position: { epoch, batchInEpoch: 3, globalBatch: 10 * epoch + 3, epochLossSum: 1.5, epochTokens: 30, epochSeconds: 0.25 },
    rng: { shuffle: rng.state(), step: new Rng(8).state() },
    history: [
      { epoch: 1, trainLoss: 2, valLoss: 2.5, bleu4: 0.1, ciderD: 0.2, lr: 0.002, epsilon: 0.9, batches: 10, tokens: 100, seconds: 1, improved: true },
    ],
    batchLog: [{ batch: 0, epoch: 0, loss: 2.2, epsilon: 1, teacherForced: 1, lr: 0.002, gradNorm: 3, tokens: 10 }],
    best: { epoch: 1, metric: 'ciderD', value: 0.2 },
    epochsWithoutImprovement: 0,
    finished: false,
  };
}

describe('checkpoints', () => {
  it('round-trips metadata and tensors exactly, and replaces an older checkpoint', async () => {
    const dir = path.join(root, 'latest');
    const before = tf.memory().numTensors;
    const w = tf.tensor2d([[1.5, -2.25], [1e-7, 3]]);
    const b = tf.tensor1d([0.1, 0.2, 0.3]);
    const m = tf.tensor2d([[0.01, 0.02], [0.03, 0.04]]);
    const v = tf.tensor2d([[1, 2], [3, 4]]);
    await saveCheckpoint(dir, meta(1), { weights: { W: w, b }, adam: { step: 3, m: { W: m }, v: { W: v } } });
    await saveCheckpoint(dir, meta(2), { weights: { W: w, b }, adam: { step: 4, m: { W: m }, v: { W: v } } });
    expect((await readdir(root)).sort()).toEqual(['latest']); // no temp or old directories left
    expect((await readdir(dir)).sort()).toEqual(['checkpoint.json', 'weights.bin']);

    const loaded = await loadCheckpoint(dir);
    expect(loaded.meta).toEqual(meta(2));
    expect(loaded.tensors.adam.step).toBe(4);
    expect(Array.from(loaded.tensors.weights.W!.dataSync())).toEqual(Array.from(w.dataSync()));
    expect(loaded.tensors.weights.W!.shape).toEqual([2, 2]);
    expect(Array.from(loaded.tensors.weights.b!.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(loaded.tensors.adam.m.W!.dataSync())).toEqual(Array.from(m.dataSync()));
    expect(Array.from(loaded.tensors.adam.v.W!.dataSync())).toEqual([1, 2, 3, 4]);
    disposeCheckpointTensors(loaded.tensors);
    tf.dispose([w, b, m, v]);
    expect(tf.memory().numTensors).toBe(before);
    expect((await readCheckpointMeta(dir)).meta.position.epoch).toBe(2);
  });

  it('refuses missing, truncated and foreign files with one-line errors naming the file', async () => {
    await expect(loadCheckpoint(path.join(root, 'nope'))).rejects.toThrow(/nope[/\\]checkpoint\.json: no checkpoint here \(file not found\)/);

    const dir = path.join(root, 'broken');
    const w = tf.tensor1d([1, 2, 3]);
    await saveCheckpoint(dir, meta(0), { weights: { w }, adam: { step: 0, m: { w }, v: { w } } });
    w.dispose();
    const bin = await readFile(path.join(dir, 'weights.bin'));
    await writeFile(path.join(dir, 'weights.bin'), bin.subarray(0, 20));
    await expect(loadCheckpoint(dir)).rejects.toThrow(/weights\.bin: holds 20 bytes, the manifest describes 36/);

    await writeFile(path.join(dir, 'checkpoint.json'), '{"format": "something-else"}');
    await expect(loadCheckpoint(dir)).rejects.toThrow(/checkpoint\.json: not a Caption Studio checkpoint \(format: /);
    await writeFile(path.join(dir, 'checkpoint.json'), '{oops');
    await expect(loadCheckpoint(dir)).rejects.toThrow(/checkpoint\.json: not valid JSON/);
  });

  it('refuses to save non-finite numbers and leaves the previous checkpoint intact', async () => {
    const dir = path.join(root, 'nan');
    const w = tf.tensor1d([1]);
    const t = { weights: { w }, adam: { step: 0, m: { w }, v: { w } } };
    await saveCheckpoint(dir, meta(0), t);
    const bad = { ...meta(1), position: { ...meta(1).position, epochLossSum: Number.NaN } };
    await expect(saveCheckpoint(dir, bad, t)).rejects.toThrow(/non-finite number \(NaN\)/);
    w.dispose();
    expect((await readCheckpointMeta(dir)).meta.position.epoch).toBe(0);
  });
});
