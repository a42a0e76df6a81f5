/**
 * Training-speed benchmark of the decoder: one step = lossAndGradients + clipping by global norm + an Adam
 * update (tf.train.adam), at B = 64, T = 16, E = 256, H = 512, V = 3000, F = 768, for ε = 1 and ε = 0.75.
 *
 * Standalone: `npx tsx src-main/bench/train-bench.ts [--steps 6] [--warmup 2] [--profile]` prints one JSON line
 * per ε (and with --profile, the kernels that take the most time in one lossAndGradients call);
 * `CAPTION_STUDIO_BACKEND` picks the backend. `npm run bench` calls `runTrainBench()`.
 */
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend.ts';
import { disposeDecoderWeights, initDecoderWeights, lossAndGradients } from '../engine/decoder.ts';
import { DECODER_WEIGHT_NAMES, END, type CaptionBatch, type DecoderConfig, type DecoderGrads } from '../engine/model-types.ts';
import { Rng } from '../util/rng.ts';
import { median as medianOf, round } from './stats.ts';

/** Sizes and repetitions of a training benchmark run. */
export interface TrainBenchOptions {
  readonly batchSize?: number;
  /** Steps per caption (tokens per step = batchSize · steps). */
  readonly steps?: number;
  readonly config?: Partial<DecoderConfig>;
  readonly epsilons?: readonly number[];
  /** Untimed steps before timing. */
  readonly warmup?: number;
  /** Timed steps per ε. */
  readonly repeats?: number;
}

/** One result line. */
export interface TrainBenchResult {
  readonly bench: 'train_step';
  readonly backend: string;
  readonly B: number;
  readonly T: number;
  readonly E: number;
  readonly H: number;
  readonly V: number;
  readonly F: number;
  readonly epsilon: number;
  /** Median over the timed steps. */
  readonly ms_per_step: number;
  readonly ms_best: number;
  /** Of which lossAndGradients (median). */
  readonly ms_grads: number;
  /** Tokens per second at the median step time. */
  readonly tokens_per_s: number;
  readonly tokens_per_s_best: number;
  readonly steps_timed: number;
}

export const DEFAULT_CONFIG: DecoderConfig = { vocabSize: 3000, embedDim: 256, hiddenDim: 512, featureDim: 768, injection: 'every', dropout: 0.3 };

/** Runs the benchmark on the current (or a freshly started) backend and returns one result per ε. */
export async function runTrainBench(options: TrainBenchOptions = {}): Promise<TrainBenchResult[]> {
  const report = await initBackend();
  const cfg: DecoderConfig = { ...DEFAULT_CONFIG, ...options.config };
  const B = options.batchSize ?? 64;
  const T = options.steps ?? 16;
  const warmup = options.warmup ?? 2;
  const repeats = options.repeats ?? 6;
  const rng = new Rng(2024);
  const batch = syntheticBatch(cfg, B, T, rng);
  const weights = initDecoderWeights(cfg, 1);
  const adam = tf.train.adam(1e-3);
  const results: TrainBenchResult[] = [];
  try {
    for (const epsilon of options.epsilons ?? [1, 0.75]) {
      const total: number[] = [];
      const grads: number[] = [];
      let tokens = 0;
      for (let i = 0; i < warmup + repeats; i++) {
        const t0 = performance.now();
        const r = lossAndGradients(weights, cfg, batch, { epsilon, sampling: 'sample', training: true, rng });
        const t1 = performance.now();
        const clipped = clipByGlobalNorm(r.grads, 5);
        adam.applyGradients(DECODER_WEIGHT_NAMES.map((name) => ({ name: weights[name].name, tensor: clipped[name] })));
        weights.b_out.dataSync(); // wait for the update (no-op on synchronous backends)
        const t2 = performance.now();
        disposeGrads(r.grads);
        disposeGrads(clipped);
        tokens = r.tokens;
        if (i >= warmup) {
          total.push(t2 - t0);
          grads.push(t1 - t0);
        }
      }
      const median = medianOf(total);
      const best = Math.min(...total);
      results.push({
        bench: 'train_step',
        backend: report.backend,
        B,
        T,
        E: cfg.embedDim,
        H: cfg.hiddenDim,
        V: cfg.vocabSize,
        F: cfg.featureDim,
        epsilon,
        ms_per_step: round(median),
        ms_best: round(best),
        ms_grads: round(medianOf(grads)),
        tokens_per_s: Math.round((tokens / median) * 1000),
        tokens_per_s_best: Math.round((tokens / best) * 1000),
        steps_timed: repeats,
      });
    }
  } finally {
    adam.dispose();
    disposeDecoderWeights(weights);
    batch.features.dispose();
  }
  return results;
}

/** Kernel time in one lossAndGradients call (ε as given), grouped by kernel and input shapes, largest first. */
export async function profileTrainStep(epsilon = 1, top = 15): Promise<{ bench: 'train_profile'; kernel: string; calls: number; ms: number }[]> {
  await initBackend();
  const cfg = DEFAULT_CONFIG;
  const rng = new Rng(7);
  const batch = syntheticBatch(cfg, 64, 16, rng);
  const weights = initDecoderWeights(cfg, 1);
  const run = () => disposeGrads(lossAndGradients(weights, cfg, batch, { epsilon, sampling: 'sample', training: true, rng }).grads);
  try {
    run();
    const info = await tf.profile(run);
    const byKernel = new Map<string, { calls: number; ms: number }>();
    for (const k of info.kernels) {
      if (k.name.endsWith('__op')) continue; // an op wrapping a kernel that is listed itself
      const key = `${k.name} ${k.inputShapes.map((s) => `[${s?.join(',') ?? ''}]`).join('x')}`;
      const entry = byKernel.get(key) ?? { calls: 0, ms: 0 };
      entry.calls += 1;
      entry.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      byKernel.set(key, entry);
    }
    return [...byKernel]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, top)
      .map(([kernel, e]) => ({ bench: 'train_profile' as const, kernel, calls: e.calls, ms: round(e.ms) }));
  } finally {
    disposeDecoderWeights(weights);
    batch.features.dispose();
  }
}

/** Gradients scaled by min(1, maxNorm / ‖g‖) over all of them together; new tensors the caller disposes. */
function clipByGlobalNorm(grads: DecoderGrads, maxNorm: number): DecoderGrads {
  return tf.tidy(() => {
    const norm = Math.sqrt(tf.addN(DECODER_WEIGHT_NAMES.map((n) => tf.sum(tf.square(grads[n])))).dataSync()[0]!);
    const scale = norm > maxNorm ? maxNorm / norm : 1;
    const out = {} as Record<(typeof DECODER_WEIGHT_NAMES)[number], tf.Tensor>;
    for (const n of DECODER_WEIGHT_NAMES) out[n] = scale === 1 ? tf.clone(grads[n]) : tf.mul(grads[n], scale);
    return out;
  });
}

/** Full-length captions (every one of the T positions counts), random words, random features. */
export function syntheticBatch(cfg: DecoderConfig, B: number, T: number, rng: Rng): CaptionBatch {
  const L = T + 1;
  const tokens = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    tokens[b * L] = 1;
    for (let t = 1; t < T; t++) tokens[b * L + t] = 4 + rng.int(cfg.vocabSize - 4);
    tokens[b * L + T] = END;
  }
  const feats = Float32Array.from({ length: B * cfg.featureDim }, () => rng.next());
  return { features: tf.tensor2d(feats, [B, cfg.featureDim]), tokens, batchSize: B, length: L };
}

function disposeGrads(g: DecoderGrads): void {
  for (const n of DECODER_WEIGHT_NAMES) g[n].dispose();
}

/** The number after `name` on the command line, if any. */
export function argValue(name: string): number | undefined {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : NaN;
  return Number.isFinite(v) ? v : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const repeats = argValue('--steps');
  const warmup = argValue('--warmup');
  const results = await runTrainBench({ ...(repeats ? { repeats } : {}), ...(warmup !== undefined ? { warmup } : {}) });
  for (const r of results) console.log(JSON.stringify(r));
  if (process.argv.includes('--profile')) for (const r of await profileTrainStep()) console.log(JSON.stringify(r));
}
