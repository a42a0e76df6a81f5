/**
 * Fixtures for the app tests, all generated: solid-colour and gradient images written with sharp, a corrupt
 * "image", a sidecar dataset, and a caption model bundle built by hand whose caption is known in advance.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs';
import { saveBundle } from '../../src-main/engine/bundle.ts';
import { disposeCaptionModel, type CaptionModel } from '../../src-main/engine/caption-model.ts';
import { defaultEncoderSpec, encoderId } from '../../src-main/engine/encoder.ts';
import { DECODER_WEIGHT_NAMES, END, START, type DecoderWeights } from '../../src-main/engine/model-types.ts';
import { Vocabulary } from '../../src-main/engine/vocab.ts';
import { AppServices } from '../../src-main/services/app-services.ts';

/** Writes a 64×48 PNG of one colour (or a left-right gradient when `to` is given). */
export async function writeImage(file: string, rgb: [number, number, number], to?: [number, number, number]): Promise<string> {
  const w = 64;
  const h = 48;
  const data = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const t = to ? x / (w - 1) : 0;
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = Math.round(rgb[c]! * (1 - t) + (to ? to[c]! : 0) * t);
    }
  }
  await mkdir(path.dirname(file), { recursive: true });
  const ext = path.extname(file).toLowerCase();
  const img = sharp(data, { raw: { width: w, height: h, channels: 3 } });
  await (ext === '.jpg' || ext === '.jpeg' ? img.jpeg() : img.png()).toFile(file);
  return file;
}

/** A file named like a JPEG that is not one. */
export async function writeCorruptImage(file: string): Promise<string> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, Buffer.from('this is not a jpeg, just text pretending to be one'));
  return file;
}

/** Colours and the caption written beside each image of `writeSidecarDataset`. */
export const SIDECAR_SAMPLES: readonly { name: string; rgb: [number, number, number]; caption: string }[] = [
  { name: 'red.png', rgb: [220, 30, 30], caption: 'a red square' },
  { name: 'green.png', rgb: [30, 200, 40], caption: 'a green square' },
  { name: 'blue.png', rgb: [30, 40, 220], caption: 'a blue square' },
  { name: 'yellow.png', rgb: [230, 220, 30], caption: 'a yellow square' },
  { name: 'dark-red.png', rgb: [120, 10, 10], caption: 'a dark red square' },
  { name: 'dark-blue.png', rgb: [10, 10, 110], caption: 'a dark blue square' },
  { name: 'white.png', rgb: [250, 250, 250], caption: 'a white square' },
  { name: 'black.png', rgb: [5, 5, 5], caption: 'a black square' },
];

/** A folder of images with a `.txt` caption beside each (the sidecar format). */
export async function writeSidecarDataset(dir: string, samples = SIDECAR_SAMPLES): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const s of samples) {
    await writeImage(path.join(dir, s.name), s.rgb);
    await writeFile(path.join(dir, s.name.replace(/\.\w+$/, '.txt')), s.caption + '\n');
  }
  return dir;
}

/**
 * A model that writes `words` for every image, built by hand: embedding = identity, and token j's embedding
 * opens the input, candidate and output gates of the hidden unit of the word that follows j (the forget gate is
 * shut by its bias), so after reading j the state is one-hot on next(j) and W_out = 10·I makes next(j) about
 * 99.7% likely. The image term W_v is zero, so the answer does not depend on the image. Encoder: the default
 * MobileNet v2 1.0 (1280-d features), so the app's real caption path runs.
 */
export function fixedCaptionModel(words: readonly string[], name = 'Fixed caption'): CaptionModel {
  const vocab = Vocabulary.build([words]);
  const V = vocab.size;
  const H = V;
  const F = 1280;
  const next = new Map<number, number>();
  const ids = [START, ...words.map((w) => vocab.id(w)), END];
  for (let k = 0; k + 1 < ids.length; k++) next.set(ids[k]!, ids[k + 1]!);
  const Wx = new Float32Array(V * 4 * H);
  for (const [j, n] of next) for (const gate of [0, 2, 3]) Wx[j * 4 * H + gate * H + n] = 10;
  const b = new Float32Array(4 * H);
  for (let u = 0; u < H; u++) b[1 * H + u] = -10;
  const Wout = new Float32Array(H * V);
  for (let u = 0; u < H; u++) Wout[u * V + u] = 10;
  const values: Record<(typeof DECODER_WEIGHT_NAMES)[number], tf.Tensor> = {
    embedding: tf.eye(V),
    W_x: tf.tensor2d(Wx, [V, 4 * H]),
    W_h: tf.zeros([H, 4 * H]),
    W_v: tf.zeros([F, 4 * H]),
    b: tf.tensor1d(b),
    W_out: tf.tensor2d(Wout, [H, V]),
    b_out: tf.zeros([V]),
  };
  const weights = {} as Record<(typeof DECODER_WEIGHT_NAMES)[number], tf.Variable>;
  for (const key of DECODER_WEIGHT_NAMES) {
    weights[key] = tf.variable(values[key], false);
    values[key].dispose();
  }
  return {
    config: { vocabSize: V, embedDim: V, hiddenDim: H, featureDim: F, injection: 'every', dropout: 0 },
    vocab,
    weights: weights as DecoderWeights,
    encoderId: encoderId(defaultEncoderSpec()),
    metadata: { name, createdAt: '2025-01-01T00:00:00.000Z', metrics: { bleu4: 0.5, ciderD: 1.25 }, provenance: { dataset: 'hand-built', images: 0 } },
  };
}

/** Saves `fixedCaptionModel(words)` as a bundle in `dir`. */
export async function writeFixedCaptionBundle(dir: string, words: readonly string[], name?: string): Promise<string> {
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
  const model = fixedCaptionModel(words, name);
  try {
    await saveBundle(dir, model);
  } finally {
    disposeCaptionModel(model);
  }
  return dir;
}

/**
 * The app's services over a fresh temp folder (data, cache, uploads, and `builtin/` for shipped models, which
 * `prepare` may fill first); `close()` stops them and removes the folder.
 */
export async function servicesInTempDir(
  prefix: string,
  prepare: (root: string) => Promise<unknown> = async () => {},
): Promise<{ root: string; services: AppServices; close(): Promise<void> }> {
  const root = await mkdtemp(path.join(os.tmpdir(), prefix));
  await prepare(root);
  const services = await AppServices.create({
    mode: 'browser',
    dataDir: path.join(root, 'data'),
    cacheDir: path.join(root, 'cache'),
    builtinModelsDir: path.join(root, 'builtin'),
    uploadDir: path.join(root, 'uploads'),
  });
  return {
    root,
    services,
    async close() {
      await services.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
