/**
 * Speed of captioning:
 * - `decode`: ms per image of `captionFeatures` (decoder steps + greedy or beam-3 search) for a decoder of the
 *   default size (E = 256, H = 512, V = 3000, F = 768) with random weights, at 1 and 16 images per call. Random
 *   weights rarely choose <end>, so nearly every caption runs the full `max_length` words (`words_per_caption`
 *   says how many it did): an upper bound for a trained model, whose captions end after ~10 words;
 * - `caption_e2e`: ms per image from a JPEG file to its captions as the app makes them (the shared pipeline:
 *   read + sharp decode + resize, the default encoder with 5 ImageNet tags, beam 3 with the 3 best captions), on
 *   generated 640×480 JPEGs, one file per call and 16 per call, with the time of each stage measured apart.
 *
 * Standalone: `npx tsx src-main/bench/decode-bench.ts [--repeats 5]` prints one JSON line per measurement;
 * `CAPTION_STUDIO_BACKEND` picks the backend. `npm run bench` calls `runDecodeBench()`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { loadImage } from '../data/images.ts';
import { initBackend } from '../engine/backend.ts';
import { disposeCaptionModel, type CaptionModel } from '../engine/caption-model.ts';
import { captionFeatures, type CaptionOptions } from '../engine/captioner.ts';
import { initDecoderWeights } from '../engine/decoder.ts';
import { loadEncoder } from '../engine/encoder.ts';
import type { DecoderConfig } from '../engine/model-types.ts';
import { Vocabulary } from '../engine/vocab.ts';
import { captionImages } from '../pipeline/caption-images.ts';
import { Rng } from '../util/rng.ts';
import { median, round } from './stats.ts';

/** One result line. */
export type DecodeBenchResult =
  | {
      readonly bench: 'decode';
      readonly backend: string;
      readonly method: 'greedy' | 'beam';
      readonly beam: number;
      readonly images_per_call: number;
      readonly E: number;
      readonly H: number;
      readonly V: number;
      readonly F: number;
      readonly max_length: number;
      /** Mean words of the captions produced (≤ max_length). */
      readonly words_per_caption: number;
      /** Median call time divided by the images per call. */
      readonly ms_per_image: number;
      readonly repeats: number;
    }
  | {
      readonly bench: 'caption_e2e';
      readonly backend: string;
      readonly encoder: string;
      readonly images_per_call: number;
      readonly beam: number;
      readonly top_n: number;
      readonly tags: number;
      readonly image: string;
      /** Median time of the whole pipeline per image. */
      readonly ms_per_image: number;
      /** Medians of the stages run one after another outside the pipeline, per image. */
      readonly decode_ms: number;
      readonly encode_ms: number;
      readonly beam_ms: number;
      readonly repeats: number;
    };

export interface DecodeBenchOptions {
  /** Timed calls per measurement (one untimed call goes first; default 5). */
  readonly repeats?: number;
  /** Images per call (default 1 and 16). */
  readonly imagesPerCall?: readonly number[];
  /** Most words per caption (default 16, the training default). */
  readonly maxLength?: number;
  /** Leave out the end-to-end measurement (it loads the encoder). */
  readonly skipEndToEnd?: boolean;
}

/** The decoder size of the reference model (train-bench and trainer-bench time the same). */
export const DECODE_BENCH_CONFIG: DecoderConfig = { vocabSize: 3000, embedDim: 256, hiddenDim: 512, featureDim: 768, injection: 'every', dropout: 0 };

const BEAM = 3;
const TOP_N = 3;
const TAGS = 5;

/** Runs the measurements (see the module comment) and returns one result per line. */
export async function runDecodeBench(options: DecodeBenchOptions = {}): Promise<DecodeBenchResult[]> {
  const report = await initBackend();
  const backend = report.backend;
  const repeats = Math.max(1, options.repeats ?? 5);
  const perCall = options.imagesPerCall ?? [1, 16];
  const maxLength = options.maxLength ?? 16;
  const cfg = DECODE_BENCH_CONFIG;
  const results: DecodeBenchResult[] = [];
  const tensorsBefore = tf.memory().numTensors;
  const rng = new Rng(17);
  const model = randomModel(cfg, 'bench-random-features', 5);
  try {
    const features = Array.from({ length: Math.max(...perCall) }, () => Float32Array.from({ length: cfg.featureDim }, () => rng.next() * 2));
    for (const method of ['greedy', 'beam'] as const) {
      for (const n of perCall) {
        const opts: CaptionOptions = { encoderId: model.encoderId, method, beamSize: BEAM, maxLength };
        const input = features.slice(0, n);
        let words = 0;
        const times = timed(repeats, () => {
          const out = captionFeatures(model, input, opts);
          words = out.reduce((s, r) => s + r.words.length, 0) / out.length;
        });
        results.push({
          bench: 'decode',
          backend,
          method,
          beam: method === 'beam' ? BEAM : 1,
          images_per_call: n,
          E: cfg.embedDim,
          H: cfg.hiddenDim,
          V: cfg.vocabSize,
          F: cfg.featureDim,
          max_length: maxLength,
          words_per_caption: round(words),
          ms_per_image: round(median(times) / n, 2),
          repeats,
        });
      }
    }
  } finally {
    disposeCaptionModel(model);
  }
  if (!options.skipEndToEnd) results.push(...(await endToEnd(backend, perCall, repeats, maxLength)));
  if (tf.memory().numTensors !== tensorsBefore) {
    throw new Error(`decode bench leaked ${tf.memory().numTensors - tensorsBefore} tensors`);
  }
  return results;
}

/** The app's caption path over generated JPEG files (see the module comment). */
async function endToEnd(backend: string, perCall: readonly number[], repeats: number, maxLength: number): Promise<DecodeBenchResult[]> {
  const results: DecodeBenchResult[] = [];
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'cs-decode-bench-'));
  const encoder = await loadEncoder();
  const model = randomModel({ ...DECODE_BENCH_CONFIG, featureDim: encoder.featureDim }, encoder.id, 6);
  try {
    const files: string[] = [];
    for (let i = 0; i < Math.max(...perCall); i++) {
      const file = path.join(tmp, `photo-${i}.jpg`);
      await writeFile(file, await generatedJpeg(i));
      files.push(file);
    }
    const caption = { beamSize: BEAM, topN: TOP_N, maxLength } as const;
    for (const n of perCall) {
      const batch = files.slice(0, n);
      const pipelineTimes = await timedAsync(repeats, async () => {
        for await (const r of captionImages(batch, { model, encoder, tags: TAGS, chunkSize: n, caption })) {
          if (!r.ok) throw new Error(`decode bench: ${r.path}: ${r.error}`);
        }
      });
      // The same work stage by stage, to show where the time goes.
      const stages = { decode: [] as number[], encode: [] as number[], beam: [] as number[] };
      for (let k = 0; k <= repeats; k++) {
        const t0 = performance.now();
        const pixels = (await Promise.all(batch.map((f) => loadImage(f)))).map((img) => img.pixels);
        const t1 = performance.now();
        const encoded = await encoder.encode(pixels, { topK: TAGS });
        const t2 = performance.now();
        captionFeatures(model, encoded.features, { encoderId: encoder.id, ...caption });
        const t3 = performance.now();
        if (k === 0) continue; // warm-up
        stages.decode.push(t1 - t0);
        stages.encode.push(t2 - t1);
        stages.beam.push(t3 - t2);
      }
      results.push({
        bench: 'caption_e2e',
        backend,
        encoder: encoder.id,
        images_per_call: n,
        beam: BEAM,
        top_n: TOP_N,
        tags: TAGS,
        image: 'generated 640×480 JPEG',
        ms_per_image: round(median(pipelineTimes) / n, 1),
        decode_ms: round(median(stages.decode) / n, 1),
        encode_ms: round(median(stages.encode) / n, 1),
        beam_ms: round(median(stages.beam) / n, 1),
        repeats,
      });
    }
  } finally {
    disposeCaptionModel(model);
    encoder.dispose();
    await rm(tmp, { recursive: true, force: true });
  }
  return results;
}

/** A caption model with random weights over words w0…w(V−5), reading features of `encoderId`. */
function randomModel(cfg: DecoderConfig, encoderId: string, seed: number): CaptionModel {
  const words = Array.from({ length: cfg.vocabSize - 4 }, (_, k) => `w${k}`);
  const vocab = Vocabulary.build([words]);
  if (vocab.size !== cfg.vocabSize) throw new Error(`decode bench: vocabulary has ${vocab.size} tokens, expected ${cfg.vocabSize}`);
  return {
    config: cfg,
    vocab,
    weights: tf.tidy(() => initDecoderWeights(cfg, seed)),
    encoderId,
    metadata: { name: 'bench-random', createdAt: new Date(0).toISOString() },
  };
}

/** A photo-sized JPEG: a colour gradient with noise and a few shapes (different for each `i`). */
export async function generatedJpeg(i: number): Promise<Buffer> {
  const w = 640;
  const h = 480;
  const rng = new Rng(100 + i);
  const raw = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      raw[o] = Math.min(255, (x * 224) / w + (rng.nextUint32() & 31));
      raw[o + 1] = Math.min(255, (y * 224) / h + (rng.nextUint32() & 31));
      raw[o + 2] = 128 + (rng.nextUint32() & 63);
    }
  }
  const shapes =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
    `<circle cx="${160 + 40 * (i % 5)}" cy="180" r="90" fill="#d02020"/>` +
    `<rect x="360" y="${220 + 10 * (i % 4)}" width="170" height="170" fill="#2040d0"/></svg>`;
  return sharp(raw, { raw: { width: w, height: h, channels: 3 } })
    .composite([{ input: Buffer.from(shapes) }])
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** Calls `fn` once untimed, then `repeats` times; returns the timed durations in ms. */
function timed(repeats: number, fn: () => void): number[] {
  fn();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return times;
}

async function timedAsync(repeats: number, fn: () => Promise<void>): Promise<number[]> {
  await fn();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const at = process.argv.indexOf('--repeats');
  const repeats = at > 0 ? Number(process.argv[at + 1]) : undefined;
  for (const line of await runDecodeBench(repeats ? { repeats } : {})) console.log(JSON.stringify(line));
}
