/**
 * Benchmark of the trainer around the decoder: end-to-end `train()` tokens/s on synthetic data at the issue's
 * reference size (B = 64, 15-word captions so T = 16, E = 256, H = 512, V ≈ 3000, F = 768), the cost of one Adam
 * update and of global-norm clipping, and the time and size of a checkpoint and of a model bundle (float32 and
 * float16).
 *
 * Standalone: `npx tsx src-main/bench/trainer-bench.ts [--batches 6]` prints JSON lines; `CAPTION_STUDIO_BACKEND`
 * picks the backend. `runTrainerBench()` returns the same lines for `npm run bench`.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend.ts';
import { loadBundle, saveBundle } from '../engine/bundle.ts';
import { disposeCaptionModel } from '../engine/caption-model.ts';
import { loadCheckpoint, disposeCheckpointTensors } from '../engine/checkpoint.ts';
import { disposeDecoderWeights, initDecoderWeights } from '../engine/decoder.ts';
import { DECODER_WEIGHT_NAMES } from '../engine/model-types.ts';
import { Adam, clipByGlobalNorm } from '../engine/optimizer.ts';
import { train, type TrainData } from '../engine/train.ts';
import { Rng } from '../util/rng.ts';
import { median, round } from './stats.ts';

export interface TrainerBenchOptions {
  /** Timed mini-batches of the end-to-end run (one more runs first, untimed). */
  readonly batches?: number;
  readonly batchSize?: number;
  readonly vocabWords?: number;
}

/** One JSON line of the bench. */
export type TrainerBenchLine = { readonly bench: string; readonly backend: string } & Record<string, number | string>;

/** Runs the trainer benchmark and returns its lines. */
export async function runTrainerBench(options: TrainerBenchOptions = {}): Promise<TrainerBenchLine[]> {
  const report = await initBackend();
  const backend = report.backend;
  const B = options.batchSize ?? 64;
  const timed = options.batches ?? 6;
  const words = options.vocabWords ?? 2996;
  const F = 768;
  const rng = new Rng(99);
  const lines: TrainerBenchLine[] = [];

  // Synthetic data: every word of the vocabulary appears, every caption has 15 words (T = 16 steps with <end>).
  const examples = B * (timed + 1);
  const vocabWords = Array.from({ length: words }, (_, k) => `w${k}`);
  const trainImages = Array.from({ length: examples }, (_, k) => ({
    features: Float32Array.from({ length: F }, () => rng.next()),
    captions: [Array.from({ length: 15 }, (_, t) => vocabWords[(k * 15 + t) % words]!)],
  }));
  const data: TrainData = { encoderId: 'bench', featureDim: F, train: trainImages, val: [] };
  const root = await mkdtemp(path.join(tmpdir(), 'cs-trainer-bench-'));
  try {
    const stamps: number[] = [];
    const tokens: number[] = [];
    const result = await train({
      data,
      runDir: path.join(root, 'run'),
      config: { epochs: 1, batchSize: B, maxLength: 15, minWordCount: 1, dropout: 0.3, patience: 0 },
      onBatch: (b) => {
        stamps.push(performance.now());
        tokens.push(b.tokens);
      },
    });
    const V = result.model.config.vocabSize;
    const times = stamps.slice(1).map((t, k) => t - stamps[k]!);
    const medianMs = median(times);
    lines.push({
      bench: 'trainer_loop',
      backend,
      B,
      T: 16,
      E: 256,
      H: 512,
      V,
      F,
      ms_per_batch: round(medianMs),
      tokens_per_s: Math.round((tokens[1]! / medianMs) * 1000),
      batches_timed: times.length,
    });

    // Checkpoint and bundle I/O at this size.
    const latest = path.join(root, 'run', 'latest');
    const ckptBytes = (await stat(path.join(latest, 'weights.bin'))).size;
    let t0 = performance.now();
    const ckpt = await loadCheckpoint(latest);
    const loadMs = performance.now() - t0;
    disposeCheckpointTensors(ckpt.tensors);
    lines.push({ bench: 'checkpoint', backend, weights_mb: round(ckptBytes / 2 ** 20), load_ms: round(loadMs) });
    for (const storage of ['float32', 'float16'] as const) {
      const dir = path.join(root, `bundle-${storage}`);
      t0 = performance.now();
      const saved = await saveBundle(dir, result.model, { weights: storage });
      const saveMs = performance.now() - t0;
      t0 = performance.now();
      const loaded = await loadBundle(dir);
      const bundleLoadMs = performance.now() - t0;
      disposeCaptionModel(loaded);
      lines.push({
        bench: 'bundle',
        backend,
        storage,
        weights_mb: round(saved.weightsBytes / 2 ** 20),
        model_json_kb: round(saved.modelJsonBytes / 1024),
        save_ms: round(saveMs),
        load_ms: round(bundleLoadMs),
      });
    }
    disposeCaptionModel(result.model);

    // The optimizer alone: Adam update and clipping of full-size gradients.
    const cfg = { vocabSize: V, embedDim: 256, hiddenDim: 512, featureDim: F, injection: 'every' as const, dropout: 0 };
    const weights = initDecoderWeights(cfg, 1);
    const adam = new Adam(weights, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const grads = Object.fromEntries(DECODER_WEIGHT_NAMES.map((n) => [n, tf.randomNormal(weights[n].shape, 0, 0.01)]));
    const adamMs: number[] = [];
    const clipMs: number[] = [];
    for (let k = 0; k < 6; k++) {
      t0 = performance.now();
      adam.apply(grads, 1e-3);
      weights.b_out.dataSync();
      adamMs.push(performance.now() - t0);
      t0 = performance.now();
      const c = clipByGlobalNorm(grads, 0.1);
      c.grads.b_out!.dataSync();
      clipMs.push(performance.now() - t0);
      tf.dispose(Object.values(c.grads));
    }
    const params = DECODER_WEIGHT_NAMES.reduce((n, k) => n + weights[k].size, 0);
    lines.push({ bench: 'optimizer', backend, parameters: params, adam_ms: round(median(adamMs.slice(1))), clip_ms: round(median(clipMs.slice(1))) });
    tf.dispose(Object.values(grads));
    adam.dispose();
    disposeDecoderWeights(weights);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--batches');
  const batches = i >= 0 ? Number(process.argv[i + 1]) : undefined;
  for (const line of await runTrainerBench(batches ? { batches } : {})) console.log(JSON.stringify(line));
}
