import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import { loadBundle, readBundleInfo, saveBundle } from '../../src-main/engine/bundle.ts';
import { captionFeatures, disposeCaptionModel, type CaptionModel } from '../../src-main/engine/captioner.ts';
import { initDecoderWeights } from '../../src-main/engine/decoder.ts';
import { DECODER_WEIGHT_NAMES } from '../../src-main/engine/model-types.ts';
import { resolveTrainConfig } from '../../src-main/engine/train-config.ts';
import { Vocabulary } from '../../src-main/engine/vocab.ts';
import { float32ToFloat16 } from '../../src-main/engine/weight-quantize.ts';
import { Rng } from '../../src-main/util/rng.ts';
import { TOY_ENCODER, toyCaptionModel } from './toy-caption-model.ts';

let root: string;
beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  root = await mkdtemp(path.join(tmpdir(), 'cs-bundle-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A random (untrained) model over a small vocabulary: its captions are arbitrary but deterministic. */
function randomModel(): CaptionModel {
  const words = 'a an the cat dog sits runs on grass red blue ball park near small big'.split(' ');
  const vocab = Vocabulary.build(words.map((w) => [w]));
  const config = { vocabSize: vocab.size, embedDim: 8, hiddenDim: 16, featureDim: 6, injection: 'every' as const, dropout: 0 };
  const trainConfig = resolveTrainConfig({ embedDim: 8, hiddenDim: 16, dropout: 0 });
  return {
    config,
    vocab,
    weights: initDecoderWeights(config, 3),
    encoderId: 'random-6d',
    metadata: {
      name: 'random',
      createdAt: '2024-05-06T07:08:09.000Z',
      metrics: { bleu4: 0.25, ciderD: 0.5 },
      provenance: { command: 'caption-studio train --epochs 2', data: ['x', 1, null] },
      training: {
        config: trainConfig,
        schedule: trainConfig.schedule,
        learningRate: trainConfig.learningRate,
        history: [
          { epoch: 1, trainLoss: 3, valLoss: 3.5, bleu4: 0.2, ciderD: 0.4, lr: 0.002, epsilon: 0.95, batches: 4, tokens: 200, seconds: 1, improved: true },
        ],
        batchLog: [{ batch: 0, epoch: 0, loss: 3.1, epsilon: 0.99, teacherForced: 1, lr: 0.002, gradNorm: 2, tokens: 50 }],
        best: { epoch: 1, metric: 'ciderD', value: 0.4 },
        stoppedBy: 'epochs',
      },
    },
  };
}

function randomFeatures(n: number, dim: number, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => Float32Array.from({ length: dim }, () => rng.next() * 2 - 1));
}

describe('model bundles', () => {
  it('round-trips a model exactly: same weights, metadata and captions', async () => {
    const model = randomModel();
    const dir = path.join(root, 'random');
    const saved = await saveBundle(dir, model);
    expect(saved.weightsBytes).toBe(
      4 * (20 * 8 + 8 * 64 + 16 * 64 + 6 * 64 + 64 + 16 * 20 + 20), // V = 4 + 16 words = 20
    );
    const loaded = await loadBundle(dir);
    for (const name of DECODER_WEIGHT_NAMES) {
      expect(Array.from(loaded.weights[name].dataSync())).toEqual(Array.from(model.weights[name].dataSync()));
    }
    expect(loaded.metadata).toEqual(model.metadata);
    expect(loaded.encoderId).toBe('random-6d');
    expect(loaded.vocab.toJSON()).toEqual(model.vocab.toJSON());
    expect(loaded.source).toBe(dir);

    const feats = randomFeatures(5, 6, 11);
    const opts = { encoderId: 'random-6d', beamSize: 3, topN: 2, maxLength: 8 };
    expect(captionFeatures(loaded, feats, opts)).toEqual(captionFeatures(model, feats, opts));
    expect(() => captionFeatures(loaded, feats, { encoderId: 'mobilenet_v1_0.75_224' })).toThrow(
      'model random expects encoder random-6d, features come from mobilenet_v1_0.75_224',
    );

    const info = await readBundleInfo(dir);
    expect(info).toMatchObject({ name: 'random', encoderId: 'random-6d', vocabularySize: 20, weightStorage: 'float32' });
    disposeCaptionModel(model);
    disposeCaptionModel(loaded);
  });

  it('writes the TF.js weights format that plain tf.io.decodeWeights reads', async () => {
    const model = toyCaptionModel();
    const dir = path.join(root, 'toy');
    await saveBundle(dir, model);
    const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('caption-studio-model');
    expect(json.formatVersion).toBe(1);
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    const bin = await readFile(path.join(dir, 'weights.bin'));
    const tensors = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength), json.weightsManifest[0].weights);
    expect(Array.from(tensors.W_out!.dataSync())).toEqual(Array.from(model.weights.W_out.dataSync()));
    expect(tensors.W_v!.shape).toEqual([2, 8]);
    tf.dispose(Object.values(tensors));
    disposeCaptionModel(model);
  });

  it('stores float16 and uint8 weights in half and a quarter of the space, within their precision', async () => {
    const model = randomModel();
    const sizes: Record<string, number> = {};
    const feats = randomFeatures(6, 6, 12);
    const opts = { encoderId: 'random-6d', method: 'greedy' as const, maxLength: 8 };
    const expected = captionFeatures(model, feats, opts).map((r) => r.score);
    for (const storage of ['float32', 'float16', 'uint8'] as const) {
      const dir = path.join(root, `q-${storage}`);
      await saveBundle(dir, model, { weights: storage });
      sizes[storage] = (await stat(path.join(dir, 'weights.bin'))).size;
      const loaded = await loadBundle(dir);
      expect((await readBundleInfo(dir)).weightStorage).toBe(storage);
      const tol = storage === 'float16' ? 1e-4 : 0.16 / 255; // init range ±0.08 → uint8 step 0.16/255
      for (const name of ['W_x', 'W_h', 'W_out'] as const) {
        const a = model.weights[name].dataSync();
        const b = loaded.weights[name].dataSync();
        let maxErr = 0;
        for (let i = 0; i < a.length; i++) maxErr = Math.max(maxErr, Math.abs(a[i]! - b[i]!));
        expect(maxErr).toBeLessThanOrEqual(tol);
      }
      // An untrained model has near-ties, so compare its beam scores, not its words.
      const scores = captionFeatures(loaded, feats, opts).map((r) => r.score);
      expected.forEach((e, i) => expect(Math.abs(e - scores[i]!)).toBeLessThan(storage === 'float16' ? 0.01 : 0.2));
      disposeCaptionModel(loaded);
    }
    // A trained-like model with clear margins keeps its exact captions in float16.
    const toy = toyCaptionModel();
    await saveBundle(path.join(root, 'toy16'), toy, { weights: 'float16' });
    const toy16 = await loadBundle(path.join(root, 'toy16'));
    const two = [new Float32Array([1, 0]), new Float32Array([0, 1])];
    const toyOpts = { encoderId: TOY_ENCODER, topN: 2 };
    expect(captionFeatures(toy16, two, toyOpts).map((r) => r.caption)).toEqual(['cat cat', 'dog dog']);
    disposeCaptionModel(toy);
    disposeCaptionModel(toy16);
    const f32 = sizes.float32!;
    const count = f32 / 4;
    expect(sizes.float16).toBe(count * 2);
    expect(sizes.uint8).toBe(count);
    disposeCaptionModel(model);
  });

  it('converts float32 to float16 with correct rounding, subnormals and overflow', () => {
    expect(float32ToFloat16(1)).toBe(0x3c00);
    expect(float32ToFloat16(-2)).toBe(0xc000);
    expect(float32ToFloat16(65504)).toBe(0x7bff); // largest half
    expect(float32ToFloat16(1e6)).toBe(0x7c00); // overflow → Infinity
    expect(float32ToFloat16(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16(2 ** -26)).toBe(0x0000); // rounds to zero
    expect(float32ToFloat16(1 + 2 ** -11)).toBe(0x3c00); // halfway, ties to even
    expect(float32ToFloat16(1 + 3 * 2 ** -11)).toBe(0x3c02); // halfway, ties to even (up)
    expect(float32ToFloat16(0.1)).toBe(0x2e66);
    expect(float32ToFloat16(Number.NaN) & 0x7c00).toBe(0x7c00);
  });

  it('refuses missing, foreign, damaged and newer bundles with one-line errors naming the file', async () => {
    await expect(loadBundle(path.join(root, 'none'))).rejects.toThrow(/none[/\\]model\.json: no model here \(file not found\)/);

    const model = toyCaptionModel();
    const dir = path.join(root, 'damaged');
    await saveBundle(dir, model);
    disposeCaptionModel(model);
    const bin = await readFile(path.join(dir, 'weights.bin'));
    bin[10] = bin[10]! ^ 0xff;
    await writeFile(path.join(dir, 'weights.bin'), bin);
    await expect(loadBundle(dir)).rejects.toThrow(/weights\.bin: does not match model\.json \(checksum differs/);

    const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8'));
    await writeFile(path.join(dir, 'model.json'), JSON.stringify({ ...json, formatVersion: 9 }));
    await expect(loadBundle(dir)).rejects.toThrow(/model format version 9 is newer than this app reads \(1\)/);
    await writeFile(path.join(dir, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [] }));
    await expect(loadBundle(dir)).rejects.toThrow(/model\.json: not a Caption Studio model \(format is null/);
    const { weightsSha256: _dropped, ...unchecked } = json;
    await writeFile(path.join(dir, 'model.json'), JSON.stringify({ ...unchecked, decoder: { ...json.decoder, hiddenDim: 3 } }));
    await expect(loadBundle(dir)).rejects.toThrow(/model\.json: weight W_x has shape \[2,8\], the decoder config needs \[2,12\]/);
    await writeFile(path.join(dir, 'model.json'), JSON.stringify(unchecked));
    await writeFile(path.join(dir, 'weights.bin'), bin.subarray(0, 40));
    await expect(loadBundle(dir)).rejects.toThrow(/weights\.bin: holds 40 bytes, model\.json describes \d+/);
  });

  it('keeps other files in the folder and leaks no tensors', async () => {
    const dir = path.join(root, 'shared-folder');
    const model = toyCaptionModel();
    await saveBundle(dir, model);
    await writeFile(path.join(dir, 'README.md'), 'notes');
    const before = tf.memory().numTensors;
    await saveBundle(dir, model);
    const loaded = await loadBundle(dir);
    const [r] = captionFeatures(loaded, [new Float32Array([0, 1])], { encoderId: TOY_ENCODER, method: 'greedy' });
    expect(r!.caption).toBe('dog dog');
    disposeCaptionModel(loaded);
    expect(tf.memory().numTensors).toBe(before);
    expect(await readFile(path.join(dir, 'README.md'), 'utf8')).toBe('notes');
    disposeCaptionModel(model);
  });
});
