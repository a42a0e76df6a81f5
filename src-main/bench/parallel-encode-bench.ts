/**
 * Feature extraction speed with 1 worker (this thread's encoder) and with one worker per core (EncoderPool), in the
 * same run, and their ratio: images/s of `encode` on batches of generated 224×224 pictures (decoding excluded).
 */
import { availableParallelism } from 'node:os';
import { initBackend } from '../engine/backend.ts';
import { defaultEncoderSpec, loadEncoder } from '../engine/encoder.ts';
import { EncoderPool } from '../engine/parallel/encoder-pool.ts';
import type { FeatureEncoder } from '../data/feature-cache.ts';
import { Rng } from '../util/rng.ts';
import { median, round } from './stats.ts';

export async function runParallelEncodeBench(options: { workers?: number; images?: number; repeats?: number } = {}): Promise<object[]> {
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
  const lines: object[] = [];
  try {
    const one = await time(encoder);
    lines.push({ bench: 'encode_workers', backend: report.backend, workers: 1, images: count, images_per_s: round(one) });
    if (workers >= 2 && report.tfjsBackend === 'wasm') {
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
  return lines;
}
