/**
 * No tensor outlives its use on the paths the app runs over and over, on wasm with the real MobileNet encoder:
 * captioning (encoder.encode → captionFeatures with beam 3; the tensor-input path; files through the shared
 * caption pipeline) and training steps (lossAndGradients → clipByGlobalNorm → Adam) on encoder features.
 * Each path runs once to warm up (kernels and caches may allocate once), then 20 times; `tf.memory().numTensors`
 * must be the same before and after, and after every training step.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import type { CaptionModel } from '../../src-main/engine/caption-model.ts';
import { captionFeatures, disposeCaptionModel } from '../../src-main/engine/captioner.ts';
import { disposeDecoderWeights, evaluateLoss, initDecoderWeights, lossAndGradients } from '../../src-main/engine/decoder.ts';
import { loadEncoder, type ImageEncoder } from '../../src-main/engine/encoder.ts';
import type { DecoderConfig } from '../../src-main/engine/model-types.ts';
import { Adam, clipByGlobalNorm } from '../../src-main/engine/optimizer.ts';
import { tokenize } from '../../src-main/text/tokenize.ts';
import { Vocabulary } from '../../src-main/engine/vocab.ts';
import { captionImages } from '../../src-main/pipeline/caption-images.ts';
import { Rng } from '../../src-main/util/rng.ts';
import { allSceneContents, placeScene, renderShapePixels, renderShapes, sceneCaptions, sceneShapes } from '../helpers/shapes.ts';

const CALLS = 20;

let encoder: ImageEncoder;
let model: CaptionModel;
let pictures: Uint8Array[];
let root: string;

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  encoder = await loadEncoder();
  const rng = new Rng(5);
  const contents = allSceneContents().slice(0, 4);
  pictures = await Promise.all(contents.map((c) => renderShapePixels(sceneShapes(placeScene(c, rng)))));
  // An untrained decoder over the shapes' words: random weights still make beam search run full-length captions.
  const vocab = Vocabulary.build(allSceneContents().flatMap((c) => sceneCaptions(c).map(tokenize)));
  const config: DecoderConfig = { vocabSize: vocab.size, embedDim: 32, hiddenDim: 64, featureDim: encoder.featureDim, injection: 'every', dropout: 0 };
  model = { config, vocab, weights: initDecoderWeights(config, 9), encoderId: encoder.id, metadata: { name: 'untrained', createdAt: '2024-01-01T00:00:00.000Z' } };
  root = await mkdtemp(path.join(tmpdir(), 'cs-caption-leaks-'));
});

afterAll(async () => {
  if (model) disposeCaptionModel(model);
  encoder?.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the caption path leaks no tensors (wasm, real encoder)', () => {
  it(`over ${CALLS} calls of encoder.encode + captionFeatures with beam 3`, async () => {
    const captionOnce = async (i: number): Promise<void> => {
      const encoded = await encoder.encode([pictures[i % pictures.length]!], { topK: 5, minScore: 0 });
      const [result] = captionFeatures(model, encoded.features, { encoderId: encoder.id, method: 'beam', beamSize: 3, topN: 3, maxLength: 12 });
      expect(encoded.tags[0]).toHaveLength(5);
      expect(result!.alternatives).toHaveLength(2);
      expect(result!.words.length).toBeGreaterThan(0);
      expect(result!.words.length).toBeLessThanOrEqual(12);
    };
    await captionOnce(0);
    const before = tf.memory().numTensors;
    for (let i = 0; i < CALLS; i++) await captionOnce(i);
    expect(tf.memory().numTensors).toBe(before);
  });

  it(`over ${CALLS} calls of encoder.infer + captionFeatures on a feature tensor (beam 3, chunks of 2)`, () => {
    const pixels = tf.tensor4d(Int32Array.from(pictures.slice(0, 3).flatMap((p) => Array.from(p))), [3, 224, 224, 3], 'int32');
    try {
      const captionOnce = (): void => {
        const { features, probs } = encoder.infer(pixels);
        try {
          const results = captionFeatures(model, features, { encoderId: encoder.id, method: 'beam', beamSize: 3, maxLength: 12, chunkSize: 2 });
          expect(results).toHaveLength(3);
        } finally {
          features.dispose();
          probs.dispose();
        }
      };
      captionOnce();
      const before = tf.memory().numTensors;
      for (let i = 0; i < CALLS; i++) captionOnce();
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      pixels.dispose();
    }
  });

  it(`over ${CALLS} image files through the caption pipeline (decode → encode → beam 3), a broken file among them`, async () => {
    const rng = new Rng(6);
    const files: string[] = [];
    for (const [i, c] of allSceneContents().slice(10, 14).entries()) {
      const file = path.join(root, `scene-${i}.jpg`);
      await writeFile(file, await renderShapes(sceneShapes(placeScene(c, rng, 300)), { size: 300, format: 'jpeg' }));
      files.push(file);
    }
    const broken = path.join(root, 'broken.jpg');
    await writeFile(broken, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]));
    const paths = Array.from({ length: CALLS }, (_, i) => (i === 7 ? broken : files[i % files.length]!));
    const run = async (list: readonly string[]): Promise<{ ok: number; failed: number }> => {
      let ok = 0;
      let failed = 0;
      for await (const r of captionImages(list, { model, encoder, chunkSize: 8, caption: { beamSize: 3, topN: 2, maxLength: 12 } })) {
        if (r.ok) ok++;
        else failed++;
      }
      return { ok, failed };
    };
    await run(files.slice(0, 1));
    const before = tf.memory().numTensors;
    expect(await run(paths)).toEqual({ ok: CALLS - 1, failed: 1 });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('training steps leak no tensors (wasm, features from the real encoder)', () => {
  it('initDecoderWeights keeps only its 7 variables (disposeDecoderWeights frees them)', () => {
    const before = tf.memory().numTensors;
    const weights = initDecoderWeights(model.config, 1);
    expect(tf.memory().numTensors).toBe(before + 7);
    disposeDecoderWeights(weights);
    expect(tf.memory().numTensors).toBe(before);
  });

  it(`over ${CALLS} steps of lossAndGradients + clipByGlobalNorm + Adam with scheduled sampling and dropout`, async () => {
    const { features } = await encoder.encode(pictures);
    const config: DecoderConfig = { ...model.config, dropout: 0.3 };
    const contents = allSceneContents().slice(0, pictures.length);
    const captions = contents.map((c) => sceneCaptions(c)[1]!.split(' '));
    const L = Math.max(...captions.map((c) => c.length)) + 2;
    const featureTensor = tf.tensor2d(Float32Array.from(features.flatMap((f) => Array.from(f))), [features.length, config.featureDim]);
    const batch = { features: featureTensor, tokens: model.vocab.encodeCaptions(captions, L), batchSize: captions.length, length: L };
    const weights = initDecoderWeights(config, 4);
    const adam = new Adam(weights, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const rng = new Rng(8);
    const stepOnce = (i: number): void => {
      const pass = lossAndGradients(weights, config, batch, { epsilon: i % 2 ? 0.5 : 1, sampling: 'sample', training: true, rng });
      const clipped = clipByGlobalNorm(pass.grads, 5);
      tf.dispose(Object.values(pass.grads));
      adam.apply(clipped.grads, 1e-2);
      tf.dispose(Object.values(clipped.grads));
    };
    try {
      const initialLoss = evaluateLoss(weights, config, batch).loss;
      stepOnce(0);
      const before = tf.memory().numTensors;
      const counts: number[] = [];
      for (let i = 1; i <= CALLS; i++) {
        stepOnce(i);
        counts.push(tf.memory().numTensors);
      }
      expect(counts).toEqual(new Array<number>(CALLS).fill(before));
      // The steps did update the weights: the teacher-forced loss fell (2.73 → 2.03 when measured; an LSTM this
      // small first learns the word frequencies, then slowly the order).
      expect(evaluateLoss(weights, config, batch).loss).toBeLessThan(initialLoss * 0.85);
    } finally {
      adam.dispose();
      disposeDecoderWeights(weights);
      featureTensor.dispose();
    }
  });
});
