/** ImageEncoder.featureMap: the last convolutional map, whose spatial mean is exactly the pooled feature. */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import { bundledEncoderSpec, loadEncoder, type BundledEncoderName } from '../../src-main/engine/encoder.ts';

let pixels: tf.Tensor4D;

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  pixels = tf.tidy(() => tf.cast(tf.randomUniform([2, 224, 224, 3], 0, 255, 'float32', 7), 'int32')) as tf.Tensor4D;
});

afterAll(() => pixels.dispose());

describe('ImageEncoder.featureMap', () => {
  const cases: [BundledEncoderName, number][] = [
    ['mobilenet_v2_1.0_224', 1280],
    ['mobilenet_v1_0.75_224', 768],
  ];
  for (const [name, channels] of cases) {
    it(`${name}: a 7×7×${channels} map whose mean is the feature, leak-free`, async () => {
      const encoder = await loadEncoder(bundledEncoderSpec(name));
      try {
        const before = tf.memory().numTensors;
        const map = encoder.featureMap(pixels);
        const { features, probs } = encoder.infer(pixels);
        expect(map.shape).toEqual([2, 7, 7, channels]);
        const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.mean(map, [1, 2]), features))).dataSync()[0]!);
        expect(diff).toBeLessThan(1e-4);
        tf.dispose([map, features, probs]);
        expect(tf.memory().numTensors).toBe(before);
      } finally {
        encoder.dispose();
      }
    });
  }
});
