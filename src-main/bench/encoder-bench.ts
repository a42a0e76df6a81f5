/**
 * Speed of the pixel side:
 * - `encoder`: ms per image of `ImageEncoder.encode` (forward pass + feature/tag read-back) at batch 1 and 16, for
 *   the default encoder (MobileNet v2 1.0 graph model), MobileNet v1 0.75 (batch norm folded, fused
 *   conv+bias+ReLU6), the same v1 model run as the plain layers model (to show what fusing buys), and the v1 0.25
 *   graph model;
 * - `image_decode`: ms per image of `loadImage` (read + sharp decode + orient + resize to 224×224) on the COCO
 *   images in ../shared when present, else on generated 384×288 JPEGs.
 *
 * Standalone: `npx tsx src-main/bench/encoder-bench.ts [--repeats 5]` prints one JSON line per measurement;
 * `CAPTION_STUDIO_BACKEND` picks the backend. `runEncoderBench()` returns them.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { loadImage } from '../data/images.ts';
import { initBackend } from '../engine/backend.ts';
import { bundledEncoderSpec, defaultEncoderSpec, loadEncoder, type EncoderSpec } from '../engine/encoder.ts';
import { Rng } from '../util/rng.ts';
import { median, round } from './stats.ts';

/** One result line. */
export type EncoderBenchResult =
  | {
      readonly bench: 'encoder';
      readonly backend: string;
      readonly encoder: string;
      /** 'default' (MobileNet v2 1.0 graph), 'fused' (v1 0.75, batch norm folded), 'layers' (v1 0.75 unfused) or 'graph' (v1 0.25). */
      readonly variant: string;
      readonly batch: number;
      /** Median over the timed repeats, divided by the batch size. */
      readonly ms_per_image: number;
      readonly repeats: number;
    }
  | { readonly bench: 'image_decode'; readonly source: 'coco' | 'generated'; readonly images: number; readonly ms_per_image: number };

const ENCODER_VARIANTS = ['default', 'fused', 'layers', 'graph'] as const;
type EncoderVariant = (typeof ENCODER_VARIANTS)[number];

export interface EncoderBenchOptions {
  readonly batchSizes?: readonly number[];
  /** Timed runs per (encoder, batch); one untimed run goes first. */
  readonly repeats?: number;
  /** Which variants to time (default all four). */
  readonly variants?: readonly EncoderVariant[];
  /** Folder of JPEGs for the decode bench (default ../shared/data/coco/images). */
  readonly imagesDir?: string;
  /** Images decoded in the decode bench. */
  readonly decodeImages?: number;
}

const DEFAULT_IMAGES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data/coco/images');

/** Runs the measurements and returns one result per line. */
export async function runEncoderBench(options: EncoderBenchOptions = {}): Promise<EncoderBenchResult[]> {
  const report = await initBackend();
  const results: EncoderBenchResult[] = [];
  const batchSizes = options.batchSizes ?? [1, 16];
  const repeats = options.repeats ?? 5;
  const rng = new Rng(7);
  const pixels = Array.from({ length: Math.max(...batchSizes) }, () => {
    const p = new Uint8Array(224 * 224 * 3);
    for (let i = 0; i < p.length; i++) p[i] = rng.nextUint32() & 255;
    return p;
  });
  const specs: Record<EncoderVariant, EncoderSpec> = {
    default: defaultEncoderSpec(),
    fused: bundledEncoderSpec('mobilenet_v1_0.75_224'),
    layers: { ...bundledEncoderSpec('mobilenet_v1_0.75_224'), fused: false },
    graph: bundledEncoderSpec('mobilenet_v1_0.25_224_graph'),
  };
  for (const variant of options.variants ?? ENCODER_VARIANTS) {
    const encoder = await loadEncoder({ ...specs[variant], maxBatch: Math.max(...batchSizes) });
    try {
      for (const batch of batchSizes) {
        const input = pixels.slice(0, batch);
        await encoder.encode(input);
        const times: number[] = [];
        for (let r = 0; r < repeats; r++) {
          const t0 = performance.now();
          await encoder.encode(input);
          times.push(performance.now() - t0);
        }
        results.push({
          bench: 'encoder',
          backend: report.backend,
          encoder: encoder.id,
          variant,
          batch,
          ms_per_image: round(median(times) / batch),
          repeats,
        });
      }
    } finally {
      encoder.dispose();
    }
  }
  if (tf.memory().numTensors !== 0) throw new Error(`encoder bench leaked ${tf.memory().numTensors} tensors`);
  results.push(await decodeBench(options.imagesDir ?? DEFAULT_IMAGES, options.decodeImages ?? 64));
  return results;
}

async function decodeBench(imagesDir: string, count: number): Promise<EncoderBenchResult> {
  let files: string[] = [];
  let source: 'coco' | 'generated' = 'coco';
  let tmp: string | null = null;
  if (existsSync(imagesDir)) {
    files = readdirSync(imagesDir)
      .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
      .sort()
      .slice(0, count)
      .map((f) => path.join(imagesDir, f));
  }
  if (files.length === 0) {
    source = 'generated';
    tmp = await mkdtemp(path.join(os.tmpdir(), 'cs-encoder-bench-'));
    const rng = new Rng(3);
    for (let i = 0; i < Math.min(count, 16); i++) {
      const raw = Buffer.alloc(384 * 288 * 3);
      for (let j = 0; j < raw.length; j++) raw[j] = (rng.nextUint32() & 63) + ((j / 3) % 384);
      const file = path.join(tmp, `img${i}.jpg`);
      await writeFile(file, await sharp(raw, { raw: { width: 384, height: 288, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
      files.push(file);
    }
  }
  try {
    await loadImage(files[0]!);
    const t0 = performance.now();
    for (const f of files) await loadImage(f);
    return { bench: 'image_decode', source, images: files.length, ms_per_image: round((performance.now() - t0) / files.length, 2) };
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--repeats');
  const repeats = at > 0 ? Number(process.argv[at + 1]) : undefined;
  for (const line of await runEncoderBench(repeats ? { repeats } : {})) console.log(JSON.stringify(line));
}
