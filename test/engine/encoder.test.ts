import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import {
  assertSameEncoder,
  bundledEncoderSpec,
  BUNDLED_ENCODERS,
  defaultEncoderSpec,
  encoderId,
  loadEncoder,
  MIN_TAG_SCORE,
  type EncoderSpec,
  type ImageEncoder,
} from '../../src-main/engine/encoder.ts';
import { encoderSpecFor } from '../../src-main/engine/encoder-registry.ts';
import { loadImage } from '../../src-main/data/images.ts';
import { referenceInput } from './fixtures/reference-input.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const SAMPLES = path.join(REPO_ROOT, 'assets', 'samples');
/** Real photographs shipped in assets/samples (see its SOURCES.md) and the ImageNet class each plainly shows. */
const KNOWN_PHOTOS: readonly [file: string, label: string][] = [
  ['skier.jpg', 'ski'],
  ['boat.jpg', 'lifeboat'],
  ['tennis.jpg', 'racket'],
  ['bus.jpg', 'minibus'],
];

async function knownPhotoPixels(): Promise<Uint8Array[]> {
  return Promise.all(KNOWN_PHOTOS.map(async ([file]) => (await loadImage(path.join(SAMPLES, file))).pixels));
}

/** Top-1 label of each known photo: right only when the encoder scales its input as its weights expect. */
async function topLabels(enc: ImageEncoder): Promise<string[]> {
  const { tags } = await enc.encode(await knownPhotoPixels(), { topK: 1 });
  return tags.map((t) => t[0]!.label);
}

const SIZE = 224;
const PER_IMAGE = SIZE * SIZE * 3;

/** Synthetic test pictures: a horizontal gradient, a checkerboard, a solid colour, stripes. */
function syntheticImages(): Uint8Array[] {
  const make = (f: (x: number, y: number) => [number, number, number]): Uint8Array => {
    const px = new Uint8Array(PER_IMAGE);
    for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) px.set(f(x, y), (y * SIZE + x) * 3);
    return px;
  };
  return [
    make((x) => [x, 255 - x, 128]),
    make((x, y) => (((x >> 4) + (y >> 4)) % 2 ? [240, 240, 240] : [20, 20, 20])),
    make(() => [30, 160, 60]),
    make((_, y) => ((y >> 3) % 2 ? [250, 200, 0] : [0, 0, 90])),
  ];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

let encoder: ImageEncoder;
let v2: ImageEncoder;
const images = syntheticImages();
const V1_075: EncoderSpec = bundledEncoderSpec('mobilenet_v1_0.75_224');

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  encoder = await loadEncoder(V1_075);
  v2 = await loadEncoder(defaultEncoderSpec());
});
afterAll(() => {
  encoder?.dispose();
  v2?.dispose();
});

describe('the default encoder, MobileNet v2 1.0 (graph model)', () => {
  it('has a stable id, 1280-d features and the 1000 ImageNet labels (background dropped)', () => {
    expect(v2.id).toBe('mobilenet_v2_1.0_224/AvgPool/fill224');
    expect(v2.id).toBe(encoderId(defaultEncoderSpec()));
    expect(encoderSpecFor(v2.id)).toEqual(defaultEncoderSpec());
    expect([v2.kind, v2.featureDim, v2.inputSize, v2.labels.length]).toEqual(['graph', 1280, 224, 1000]);
    expect(v2.labels[207]).toBe('golden retriever');
  });

  it('names the right ImageNet class of real photographs (input scaled to [0, 1] as the graph expects)', async () => {
    expect(await topLabels(v2)).toEqual(KNOWN_PHOTOS.map(([, label]) => label));
  });

  it("gives the pooled feature @tensorflow-models/mobilenet's own API gives for a fixed input", async () => {
    const reference = JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures', 'mobilenet-v2-reference.json'), 'utf8')) as { feature: number[] };
    expect(reference.feature.length).toBe(1280);
    const { features } = await v2.encode([referenceInput()]);
    // Values are averages of ReLU6 outputs (0–6); the reference is stored to 7 significant digits.
    expect(maxAbsDiff(features[0]!, reference.feature)).toBeLessThan(1e-4);
    expect(Math.max(...reference.feature)).toBeGreaterThan(1);
  });

  it('gives the same features and tags for a batch as for single images, without leaking tensors', async () => {
    await v2.encode(images.slice(0, 1));
    const before = tf.memory().numTensors;
    const batch = await v2.encode(images, { topK: 3, minScore: 0 });
    for (let i = 0; i < images.length; i++) {
      const single = await v2.encode([images[i]!], { topK: 3, minScore: 0 });
      expect(maxAbsDiff(single.features[0]!, batch.features[i]!)).toBeLessThan(1e-4);
      expect(single.tags[0]!.map((t) => t.classIndex)).toEqual(batch.tags[i]!.map((t) => t.classIndex));
    }
    for (const f of batch.features) {
      expect(Math.min(...f)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...f)).toBeLessThanOrEqual(6);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('tag scores are the softmax over the 1000 classes without the background logit', async () => {
    const input = tf.tensor4d(Int32Array.from(images[0]!), [1, SIZE, SIZE, 3], 'int32');
    const { features, probs } = v2.infer(input);
    const p = Array.from(await probs.data());
    tf.dispose([input, features, probs]);
    expect(p.length).toBe(1000);
    expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 4);
  });
});

describe('the bundled MobileNet v1 0.75 encoder (layers model; the first shipped models use it)', () => {
  it('names the right ImageNet class of real photographs (input scaled to [-1, 1])', async () => {
    expect(await topLabels(encoder)).toEqual(KNOWN_PHOTOS.map(([, label]) => label));
  });

  it('has a stable id, 768-d features and the 1000 ImageNet labels', () => {
    expect(encoder.id).toBe('mobilenet_v1_0.75_224/gap_conv_pw_13/fill224');
    expect(encoder.id).toBe(encoderId(V1_075));
    expect(encoderSpecFor(encoder.id)).toEqual(V1_075);
    expect(encoder.kind).toBe('layers');
    expect(encoder.featureDim).toBe(768);
    expect(encoder.inputSize).toBe(224);
    expect(encoder.labels.length).toBe(1000);
    expect(encoder.labels[207]).toBe('golden retriever');
  });

  it('gives [N, 768] features, averages of ReLU6 outputs (so within [0, 6]), deterministically', async () => {
    const a = await encoder.encode(images);
    expect(a.features.length).toBe(images.length);
    for (const f of a.features) {
      expect(f).toBeInstanceOf(Float32Array);
      expect(f.length).toBe(768);
      expect(Math.min(...f)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...f)).toBeLessThanOrEqual(6);
      expect(Math.max(...f)).toBeGreaterThan(0.1);
    }
    // Different pictures, different features.
    expect(maxAbsDiff(a.features[0]!, a.features[2]!)).toBeGreaterThan(0.1);
    const b = await encoder.encode(images);
    b.features.forEach((f, i) => expect(Array.from(f)).toEqual(Array.from(a.features[i]!)));
  });

  it('gives the same features for a batch of N as for N single images, and for a tensor input', async () => {
    const batch = await encoder.encode(images);
    for (let i = 0; i < images.length; i++) {
      const single = await encoder.encode([images[i]!]);
      expect(maxAbsDiff(single.features[0]!, batch.features[i]!)).toBeLessThan(1e-4);
    }
    const data = new Int32Array(images.length * PER_IMAGE);
    images.forEach((img, i) => data.set(img, i * PER_IMAGE));
    const tensor = tf.tensor4d(data, [images.length, SIZE, SIZE, 3], 'int32');
    const fromTensor = await encoder.encode(tensor);
    tensor.dispose();
    fromTensor.features.forEach((f, i) => expect(maxAbsDiff(f, batch.features[i]!)).toBeLessThan(1e-4));
  });

  it('splits batches larger than maxBatch without changing the answer', async () => {
    const small = await loadEncoder({ ...V1_075, maxBatch: 3 });
    try {
      const split = await small.encode(images);
      const whole = await encoder.encode(images);
      split.features.forEach((f, i) => expect(maxAbsDiff(f, whole.features[i]!)).toBeLessThan(1e-4));
    } finally {
      small.dispose();
    }
  });

  it('gives top-k tags: best first, scores are the softmax probabilities, labels match the class', async () => {
    const { tags } = await encoder.encode(images, { topK: 5, minScore: 0 });
    const input = tf.tensor4d(Int32Array.from(images[0]!), [1, SIZE, SIZE, 3], 'int32');
    const { features, probs } = encoder.infer(input);
    const p = Array.from(await probs.data());
    tf.dispose([input, features, probs]);
    expect(p.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 4);
    const best = p.indexOf(Math.max(...p));
    expect(tags[0]![0]!.classIndex).toBe(best);
    expect(tags[0]![0]!.score).toBeCloseTo(p[best]!, 5);
    for (const list of tags) {
      expect(list.length).toBe(5);
      for (let k = 0; k < list.length; k++) {
        const t = list[k]!;
        expect(t.label).toBe(encoder.labels[t.classIndex]!.split(',')[0]);
        expect(t.score).toBeGreaterThan(0);
        expect(t.score).toBeLessThanOrEqual(1);
        if (k > 0) expect(t.score).toBeLessThanOrEqual(list[k - 1]!.score);
      }
    }
    expect((await encoder.encode(images.slice(0, 1), { topK: 0 })).tags).toEqual([[]]);
    // By default tags under 1 % are left out: the same best tags, cut where the probability drops below 0.01.
    const all = (await encoder.encode(images, { topK: 50, minScore: 0 })).tags;
    const shown = (await encoder.encode(images, { topK: 50 })).tags;
    shown.forEach((list, i) => expect(list).toEqual(all[i]!.filter((t) => t.score >= MIN_TAG_SCORE)));
    expect(all.flat().some((t) => t.score < MIN_TAG_SCORE)).toBe(true); // so the filter had something to drop
  });

  it('matches the unfused layers model (batch norm folded into the convolutions) to 1e-4 relative', async () => {
    const plain = await loadEncoder({ ...V1_075, fused: false });
    try {
      expect(plain.id).toBe(encoder.id);
      const a = await plain.encode(images, { topK: 3, minScore: 0 });
      const b = await encoder.encode(images, { topK: 3, minScore: 0 });
      // Folding reorders float32 sums over 27 layers: compare relative to the feature scale (values up to 6).
      a.features.forEach((f, i) => expect(maxAbsDiff(f, b.features[i]!) / Math.max(...f)).toBeLessThan(1e-4));
      a.tags.forEach((t, i) => {
        expect(t.map((x) => x.classIndex)).toEqual(b.tags[i]!.map((x) => x.classIndex));
        expect(maxAbsDiff(t.map((x) => x.score), b.tags[i]!.map((x) => x.score))).toBeLessThan(1e-4);
      });
    } finally {
      plain.dispose();
    }
  });

  it('leaves no tensors behind across 20 encode calls', async () => {
    await encoder.encode(images.slice(0, 1));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) await encoder.encode([images[i % images.length]!], { topK: 3 });
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses pixels of the wrong size with a clear error', async () => {
    await expect(encoder.encode([new Uint8Array(100)])).rejects.toThrow('encode: image 0 has 100 bytes, expected 150528 (224×224 RGB)');
    const wrong = tf.zeros([1, 100, 100, 3]) as tf.Tensor4D;
    await expect(encoder.encode(wrong)).rejects.toThrow('encode: expected pixels shaped [N, 224, 224, 3], got [1, 100, 100, 3]');
    wrong.dispose();
  });
});

describe('the bundled MobileNet v1 0.25 graph encoder', () => {
  it('gives 256-d features and 1000-class tags (background dropped), without leaks', async () => {
    const graph = await loadEncoder(bundledEncoderSpec('mobilenet_v1_0.25_224_graph'));
    try {
      expect(graph.id).toBe('mobilenet_v1_0.25_224_graph/global_pool/fill224');
      expect([graph.kind, graph.featureDim, graph.labels.length]).toEqual(['graph', 256, 1000]);
      const before = tf.memory().numTensors;
      const a = await graph.encode(images, { topK: 3, minScore: 0 });
      expect(a.features.map((f) => f.length)).toEqual([256, 256, 256, 256]);
      const single = await graph.encode([images[1]!]);
      expect(maxAbsDiff(single.features[0]!, a.features[1]!)).toBeLessThan(1e-4);
      expect(a.tags[0]!.length).toBe(3);
      expect(tf.memory().numTensors).toBe(before);
      // A weak classifier, but sure of these two photographs (0.98 and 0.87).
      const photos = await knownPhotoPixels();
      const { tags } = await graph.encode([photos[1]!, photos[2]!], { topK: 1 });
      expect(tags.map((t) => t[0]!.label)).toEqual(['lifeboat', 'racket']);
    } finally {
      graph.dispose();
    }
  });
});

describe('encoder specs and identity', () => {
  it('resolves bundled encoders under CAPTION_STUDIO_MODELS_DIR when it is set', () => {
    const saved = process.env.CAPTION_STUDIO_MODELS_DIR;
    process.env.CAPTION_STUDIO_MODELS_DIR = '/srv/models';
    try {
      expect(defaultEncoderSpec()).toEqual({ ...BUNDLED_ENCODERS['mobilenet_v2_1.0_224'], dir: path.join('/srv/models', 'encoders', 'mobilenet_v2_1.0_224') });
      expect(bundledEncoderSpec('mobilenet_v1_0.75_224')).toEqual({ kind: 'layers', dir: path.join('/srv/models', 'encoders', 'mobilenet_v1_0.75_224') });
    } finally {
      if (saved === undefined) delete process.env.CAPTION_STUDIO_MODELS_DIR;
      else process.env.CAPTION_STUDIO_MODELS_DIR = saved;
    }
  });

  it('gives every bundled encoder its own id, so features and caches of one are never taken for another', () => {
    const ids = (Object.keys(BUNDLED_ENCODERS) as (keyof typeof BUNDLED_ENCODERS)[]).map((n) => encoderId(bundledEncoderSpec(n)));
    expect(new Set(ids).size).toBe(ids.length);
    expect(() => encoderSpecFor('mobilenet_v3/none/fill224')).toThrow('the model needs image encoder mobilenet_v3/none/fill224, which is not installed');
  });

  it('names a feature node the graph does not have', async () => {
    const spec = { ...defaultEncoderSpec(), featureNode: 'no/such/node' };
    await expect(loadEncoder(spec)).rejects.toThrow(`${path.join(spec.dir, 'model.json')}: the graph has no node no/such/node`);
  });

  it('names the missing file when a model folder is wrong', async () => {
    const dir = path.join('/nonexistent', 'mobilenet');
    await expect(loadEncoder({ kind: 'layers', dir })).rejects.toThrow(`${path.join(dir, 'metadata.json')}: cannot read the encoder's labels`);
  });

  it('assertSameEncoder passes equal ids and throws a one-line error otherwise', () => {
    expect(() => assertSameEncoder(encoder.id, encoder.id, 'cache')).not.toThrow();
    expect(() => assertSameEncoder(encoder.id, 'mobilenet_v1_0.25_224_graph/global_pool/fill224', 'models/default')).toThrow(
      'models/default: encoder mismatch: expected features from mobilenet_v1_0.75_224/gap_conv_pw_13/fill224, got mobilenet_v1_0.25_224_graph/global_pool/fill224',
    );
  });
});
