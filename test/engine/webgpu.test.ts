/**
 * The device training pass (decoder-train-device.ts, for backends without synchronous reads) against the
 * hand-written wasm pass, and training on the webgpu backend. The webgpu half needs a WebGPU adapter: here the
 * CPU-emulated SwiftShader one that Debian's chromium ships (VK_ICD_FILENAMES is pointed at it when set nowhere
 * else); it is skipped, with one line saying why, where there is none. SwiftShader is slow: sizes are tiny.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import { disposeCaptionModel } from '../../src-main/engine/caption-model.ts';
import { captionFeaturesAsync } from '../../src-main/engine/captioner.ts';
import { beamSearchAsync, greedyDecodeAsync, type DecodedCaption } from '../../src-main/engine/decode.ts';
import { createStepModel, disposeDecoderWeights, initDecoderWeights, lossAndGradients } from '../../src-main/engine/decoder.ts';
import { deviceLossAndGradients } from '../../src-main/engine/decoder-train-device.ts';
import { exampleRngs } from '../../src-main/engine/example-randomness.ts';
import { DECODER_WEIGHT_NAMES, END, START, type CaptionBatch, type DecoderConfig, type DecoderWeights } from '../../src-main/engine/model-types.ts';
import { train } from '../../src-main/engine/train.ts';
import { probeWebGpu } from '../../src-main/engine/webgpu-backend.ts';
import { Rng } from '../../src-main/util/rng.ts';
import { TOY_ENCODER, toyCaptionModel } from './toy-caption-model.ts';
import { SMALL_CONFIG, syntheticData } from './train-fixtures.ts';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';
let xdg: string | null = null;
if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
if (!process.env.XDG_RUNTIME_DIR) {
  xdg = await mkdtemp(path.join(tmpdir(), 'cs-xdg-'));
  process.env.XDG_RUNTIME_DIR = xdg;
}
const adapter = await probeWebGpu();
if (!adapter.ok) console.warn(`webgpu tests skipped: ${adapter.reason}`);

afterAll(async () => {
  if (xdg) await rm(xdg, { recursive: true, force: true });
});

const CFG: DecoderConfig = { vocabSize: 13, embedDim: 5, hiddenDim: 6, featureDim: 4, injection: 'every', dropout: 0.25 };

/** Rows of different lengths (so the packed steps shrink), ids 4… are words. */
const ROWS = [
  [START, 4, 5, 6, 7, END],
  [START, 8, END, 0, 0, 0],
  [START, 9, 10, 11, END, 0],
  [START, 12, END, 0, 0, 0],
];
const L = 6;

function batchArrays(): { features: Float32Array; tokens: Int32Array } {
  const rng = new Rng(3);
  return { features: Float32Array.from({ length: ROWS.length * CFG.featureDim }, () => rng.next() * 2 - 1), tokens: Int32Array.from(ROWS.flat()) };
}

function batchOn(arrays: ReturnType<typeof batchArrays>): CaptionBatch {
  return { features: tf.tensor2d(arrays.features, [ROWS.length, CFG.featureDim]), tokens: arrays.tokens, batchSize: ROWS.length, length: L };
}

type Pass = { loss: number; tokens: number; fraction: number; grads: Record<string, Float32Array> };

async function weightArrays(w: DecoderWeights): Promise<Record<string, Float32Array>> {
  const out: Record<string, Float32Array> = {};
  for (const n of DECODER_WEIGHT_NAMES) out[n] = (await w[n].data()) as Float32Array;
  return out;
}

function weightsFrom(arrays: Record<string, Float32Array>, like: DecoderWeights): DecoderWeights {
  const out = {} as Record<string, tf.Variable>;
  for (const n of DECODER_WEIGHT_NAMES) out[n] = tf.variable(tf.tensor(arrays[n]!, like[n].shape), true);
  return out as DecoderWeights;
}

const OPTS = [
  { epsilon: 1, sampling: 'sample' as const, training: false },
  { epsilon: 0.5, sampling: 'argmax' as const, training: true },
  { epsilon: 0.3, sampling: 'sample' as const, training: true },
];

/** One pass, hand-written (wasm) or device, with per-row generators from seed 11. */
async function pass(kind: 'hand' | 'device', w: DecoderWeights, opts: (typeof OPTS)[number]): Promise<Pass> {
  const batch = batchOn(batchArrays());
  try {
    const o = { ...opts, rng: new Rng(1), rowRngs: exampleRngs(11, ROWS.length) };
    const r = kind === 'hand' ? lossAndGradients(w, CFG, batch, o) : await deviceLossAndGradients(w, CFG, batch, o);
    const grads: Record<string, Float32Array> = {};
    for (const n of DECODER_WEIGHT_NAMES) grads[n] = (await r.grads[n].data()) as Float32Array;
    tf.dispose(Object.values(r.grads));
    return { loss: r.loss, tokens: r.tokens, fraction: r.teacherForcedFraction, grads };
  } finally {
    batch.features.dispose();
  }
}

/** max |a − b| / max |a|. */
function relative(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let s = 0;
  for (let k = 0; k < a.length; k++) {
    d = Math.max(d, Math.abs(a[k]! - b[k]!));
    s = Math.max(s, Math.abs(a[k]!));
  }
  return s > 0 ? d / s : d;
}

function expectSamePass(ours: Pass, reference: Pass, tolerance: number): void {
  expect(ours.tokens).toBe(reference.tokens);
  expect(ours.fraction).toBe(reference.fraction);
  expect(Math.abs(ours.loss - reference.loss) / reference.loss).toBeLessThan(tolerance);
  for (const n of DECODER_WEIGHT_NAMES) {
    expect(relative(reference.grads[n]!, ours.grads[n]!), n).toBeLessThan(tolerance);
    expect(Math.max(...reference.grads[n]!.map(Math.abs)), `${n} has a gradient`).toBeGreaterThan(0);
  }
}

let reference: Pass[];
let initial: Record<string, Float32Array>;
beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  const w = initDecoderWeights(CFG, 5);
  initial = await weightArrays(w);
  reference = [];
  for (const o of OPTS) reference.push(await pass('hand', w, o));
  disposeDecoderWeights(w);
});

describe('the device training pass', () => {
  it('equals the hand-written pass on wasm: loss, every gradient, the teacher-forced share (dropout, ε < 1, sampling)', async () => {
    await initBackend({ prefer: 'wasm' });
    const like = initDecoderWeights(CFG, 5);
    const w = weightsFrom(initial, like);
    disposeDecoderWeights(like);
    const before = tf.memory().numTensors;
    for (let k = 0; k < OPTS.length; k++) expectSamePass(await pass('device', w, OPTS[k]!), reference[k]!, 1e-5);
    expect(tf.memory().numTensors).toBe(before);
    // ε < 1 fed some of the model's own words.
    expect(reference[2]!.fraction).toBeLessThan(1);
    disposeDecoderWeights(w);
  });
});

describe.skipIf(!adapter.ok)('on the webgpu backend', () => {
  it('loss and every gradient equal wasm\'s (1e-4 relative)', async () => {
    const report = await initBackend({ prefer: 'webgpu' });
    expect(report.backend).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    const like = initDecoderWeights(CFG, 5);
    const w = weightsFrom(initial, like);
    disposeDecoderWeights(like);
    for (let k = 0; k < OPTS.length; k++) expectSamePass(await pass('device', w, OPTS[k]!), reference[k]!, 1e-4);
    disposeDecoderWeights(w);
  });

  it('decodes on the device: beam-3 captions and greedy ones equal wasm\'s, the toy model says "cat" and "dog", no tensor left behind', async () => {
    const rng = new Rng(8);
    const featureArrays = Float32Array.from({ length: 2 * CFG.featureDim }, () => rng.next() * 4 - 2);
    const options = { maxLength: 5, blockRepeatedNgram: 2 };
    const decodeOn = async (backend: 'wasm' | 'webgpu') => {
      await initBackend({ prefer: backend });
      const like = initDecoderWeights(CFG, 5);
      const w = weightsFrom(initial, like);
      disposeDecoderWeights(like);
      const features = tf.tensor2d(featureArrays, [2, CFG.featureDim]);
      const model = createStepModel(w, CFG, features);
      const before = tf.memory().numTensors;
      const beams = await beamSearchAsync(model, { ...options, beamSize: 3, topN: 3 });
      const greedy = await greedyDecodeAsync(model, options);
      expect(tf.memory().numTensors).toBe(before);
      if (backend === 'webgpu') expect(() => model.step(Int32Array.of(START, START), model.initialState())).toThrow('has no synchronous reads');
      features.dispose();
      disposeDecoderWeights(w);
      return { beams, greedy };
    };
    const cpu = await decodeOn('wasm');
    const gpu = await decodeOn('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    const same = (a: DecodedCaption, b: DecodedCaption): void => {
      expect(a.tokens).toEqual(b.tokens);
      expect(Math.abs(a.logProb - b.logProb)).toBeLessThan(1e-4 * Math.abs(b.logProb));
    };
    gpu.beams.forEach((row, r) => {
      expect(row).toHaveLength(3);
      row.forEach((c, k) => same(c, cpu.beams[r]![k]!));
    });
    gpu.greedy.forEach((c, r) => same(c, cpu.greedy[r]!));
    // The whole captioning path (captionFeaturesAsync) on a model whose captions are known.
    const toy = toyCaptionModel();
    const captions = await captionFeaturesAsync(toy, [Float32Array.of(1, 0), Float32Array.of(0, 1)], { encoderId: TOY_ENCODER, beamSize: 3, blockRepeatedNgram: 1 });
    expect(captions.map((c) => c.caption)).toEqual(['cat', 'dog']);
    disposeCaptionModel(toy);
  });

  it('trains a tiny model for two epochs like wasm does (every batch loss, validation loss and the weights to 1e-4; the same validation captions and scores)', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'cs-webgpu-train-'));
    const data = syntheticData(1, 1);
    const config = { ...SMALL_CONFIG, epochs: 2, batchSize: 6, embedDim: 4, hiddenDim: 8, learningRate: { lr: 0.05, decayRate: 1, decayEvery: 1 } };
    const run = async (backend: 'wasm' | 'webgpu') => {
      await initBackend({ prefer: backend });
      const result = await train({ data, runDir: path.join(root, backend), config });
      const weights = await weightArrays(result.model.weights);
      disposeCaptionModel(result.model);
      return { result, weights };
    };
    try {
      const cpu = await run('wasm');
      const gpu = await run('webgpu');
      expect(tf.getBackend()).toBe('webgpu');
      expect(gpu.result.history).toHaveLength(2);
      expect(gpu.result.history[1]!.trainLoss).toBeLessThan(gpu.result.history[0]!.trainLoss);
      expect(gpu.result.batchLog).toHaveLength(cpu.result.batchLog.length);
      gpu.result.batchLog.forEach((b, k) => expect(Math.abs(b.loss - cpu.result.batchLog[k]!.loss) / b.loss).toBeLessThan(1e-4));
      gpu.result.history.forEach((e, k) => expect(Math.abs(e.valLoss! - cpu.result.history[k]!.valLoss!) / e.valLoss!).toBeLessThan(1e-4));
      // The validation captions come from the asynchronous decoder: the same BLEU-4, CIDEr-D and samples as wasm's.
      expect(gpu.result.history.map((e) => e.bleu4)).toEqual(cpu.result.history.map((e) => e.bleu4));
      expect(gpu.result.history.map((e) => e.ciderD)).toEqual(cpu.result.history.map((e) => e.ciderD));
      expect(gpu.result.history.every((e) => typeof e.bleu4 === 'number')).toBe(true);
      expect(gpu.result.best).toEqual(cpu.result.best);
      for (const n of DECODER_WEIGHT_NAMES) expect(relative(cpu.weights[n]!, gpu.weights[n]!), n).toBeLessThan(1e-4);
      expect(existsSync(path.join(root, 'webgpu', 'latest', 'checkpoint.json'))).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
