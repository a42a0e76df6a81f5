/**
 * Image work on every core, in the same run, with 1 worker (this thread) and with one worker per core
 * (EncoderPool), and their ratio:
 * - `encode_workers`: images/s of feature extraction (`encode` on batches of generated 224×224 pictures, decoding
 *   excluded);
 * - `caption_workers`: images/s of captioning files as `caption`/`export` do it (pipeline/caption-images.ts: read +
 *   decode generated 640×480 JPEGs, encode with 5 ImageNet tags, beam 3 with the 3 best captions) with the shipped
 *   model (models/default) and its encoder; the pool's start (each thread loading the encoder and the model) is
 *   timed apart (`start_s`), the images/s are of warm threads. `cpu_ms_per_image` is the process's CPU time (all
 *   threads) per image, and the ratio line's `ratio_if_cores_idle` N × that on 1 thread over that on N: the ratio
 *   with N idle cores, which other programs' load hardly moves (as the train suite's).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { initBackend } from '../engine/backend.ts';
import { loadBundle } from '../engine/bundle.ts';
import { disposeCaptionModel } from '../engine/caption-model.ts';
import { defaultEncoderSpec, loadEncoder, type ImageEncoder } from '../engine/encoder.ts';
import { encoderSpecFor } from '../engine/encoder-registry.ts';
import { EncoderPool } from '../engine/parallel/encoder-pool.ts';
import type { FeatureEncoder } from '../data/feature-cache.ts';
import { captionImages, type CaptionImagesOptions } from '../pipeline/caption-images.ts';
import { defaultModelDir } from '../util/paths.ts';
import { Rng } from '../util/rng.ts';
import { generatedJpeg } from './decode-bench.ts';
import { median, round } from './stats.ts';

export interface ParallelEncodeBenchOptions {
  /** Threads of the pool (default: one per core). */
  readonly workers?: number;
  /** Images per `encode` call (default 32). */
  readonly images?: number;
  /** JPEG files captioned per timed run (default 48). */
  readonly captionImages?: number;
  readonly repeats?: number;
}

export async function runParallelEncodeBench(options: ParallelEncodeBenchOptions = {}): Promise<object[]> {
  const report = await initBackend();
  const workers = options.workers ?? availableParallelism();
  const count = options.images ?? 32;
  const repeats = options.repeats ?? 3;
  const spec = defaultEncoderSpec();
  const encoder = await loadEncoder(spec);
  const rng = new Rng(4);
  const images = Array.from({ length: count }, () => Uint8Array.from({ length: 224 * 224 * 3 }, () => rng.int(256)));
  const time = async (e: FeatureEncoder): Promise<number> => {
    await e.encode(images.slice(0, Math.min(count, 2 * workers)), { topK: 0 }); // warm-up (and start the threads)
    const ms: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      await e.encode(images, { topK: 0 });
      ms.push(performance.now() - t0);
    }
    return (count / median(ms)) * 1000;
  };
  const parallel = workers >= 2 && report.tfjsBackend === 'wasm';
  const lines: object[] = [];
  try {
    const one = await time(encoder);
    lines.push({ bench: 'encode_workers', backend: report.backend, workers: 1, images: count, images_per_s: round(one) });
    if (parallel) {
      const pool = new EncoderPool(spec, workers, encoder.id, encoder.featureDim);
      try {
        const many = await time(pool);
        lines.push({ bench: 'encode_workers', backend: report.backend, workers, images: count, images_per_s: round(many) });
        lines.push({ bench: 'encode_workers_ratio', backend: report.backend, workers, cores: availableParallelism(), ratio: round(many / one, 2) });
      } finally {
        await pool.close();
      }
    }
  } finally {
    encoder.dispose();
  }
  lines.push(...(await captionBench(report.backend, parallel ? workers : 1, options.captionImages ?? 48, repeats)));
  return lines;
}

/** `caption_workers` lines: the caption pipeline over generated JPEG files on 1 thread and on `workers` threads. */
async function captionBench(backend: string, workers: number, count: number, repeats: number): Promise<object[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cs-caption-workers-bench-'));
  const model = await loadBundle(defaultModelDir());
  let encoder: ImageEncoder | null = null;
  const lines: object[] = [];
  try {
    encoder = await loadEncoder(encoderSpecFor(model.encoderId));
    const files: string[] = [];
    for (let i = 0; i < count; i++) {
      const file = path.join(dir, `photo-${String(i).padStart(3, '0')}.jpg`);
      await writeFile(file, await generatedJpeg(i));
      files.push(file);
    }
    const base = { model, encoder, tags: 5, caption: { beamSize: 3, topN: 3 } } satisfies CaptionImagesOptions;
    const run = async (list: readonly string[], opts: CaptionImagesOptions): Promise<void> => {
      for await (const r of captionImages(list, opts)) if (!r.ok) throw new Error(`caption bench: ${r.path}: ${r.error}`);
    };
    /** Images/s (median wall clock) and the process's CPU ms per image (median), threads included. */
    const time = async (opts: CaptionImagesOptions): Promise<{ rate: number; cpuMsPerImage: number }> => {
      await run(files.slice(0, Math.min(count, 2 * workers)), opts); // warm-up
      const ms: number[] = [];
      const cpu: number[] = [];
      for (let r = 0; r < repeats; r++) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        await run(files, opts);
        ms.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
      }
      return { rate: (count / median(ms)) * 1000, cpuMsPerImage: median(cpu) / count };
    };
    const line = { bench: 'caption_workers', backend, model: 'models/default', encoder: encoder.id, image: 'generated 640×480 JPEG', beam: 3, tags: 5, images: count };
    const one = await time({ ...base, workers: 1 });
    lines.push({ ...line, workers: 1, images_per_s: round(one.rate, 2), cpu_ms_per_image: round(one.cpuMsPerImage) });
    if (workers >= 2) {
      const pool = new EncoderPool(encoderSpecFor(model.encoderId), workers, encoder.id, encoder.featureDim, { captionModel: model });
      try {
        const t0 = performance.now();
        await pool.ready();
        const startS = (performance.now() - t0) / 1000;
        const many = await time({ ...base, pool });
        lines.push({ ...line, workers, images_per_s: round(many.rate, 2), cpu_ms_per_image: round(many.cpuMsPerImage), start_s: round(startS, 2) });
        lines.push({
          bench: 'caption_workers_ratio',
          backend,
          workers,
          cores: availableParallelism(),
          ratio: round(many.rate / one.rate, 2),
          // As train_workers_ratio's: N × (CPU per image on 1 thread) / (CPU per image on N), which others' load hardly moves.
          ratio_if_cores_idle: round((workers * one.cpuMsPerImage) / many.cpuMsPerImage, 2),
        });
      } finally {
        await pool.close();
      }
    }
  } finally {
    encoder?.dispose();
    disposeCaptionModel(model);
    await rm(dir, { recursive: true, force: true });
  }
  return lines;
}
