/**
 * Data-parallel training speed: the trainer's optimisation step (engine/parallel/optimisation-step.ts: loss and
 * gradients with per-example randomness, global-norm clip, Adam) at the train bench's sizes, first in this thread
 * (1 worker), then over a pool of N worker threads, one line each and a line with their ratio — all in one run, so
 * the ratio compares figures measured under the same load.
 *
 * Standalone: `npx tsx src-main/bench/parallel-train-bench.ts [--workers N] [--steps 7] [--warmup 24]`.
 */
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { initBackend } from '../engine/backend.ts';
import { probeBackends } from '../engine/backend-probe.ts';
import { disposeDecoderWeights, initDecoderWeights } from '../engine/decoder.ts';
import type { CaptionBatch, DecoderConfig } from '../engine/model-types.ts';
import { Adam } from '../engine/optimizer.ts';
import { optimisationStep } from '../engine/parallel/optimisation-step.ts';
import { TrainPool } from '../engine/parallel/train-pool.ts';
import { Rng } from '../util/rng.ts';
import { threadCpuMs } from '../util/thread-cpu.ts';
import { otherBackendLines, type OtherBackendLine } from './backend-lines.ts';
import { median, round } from './stats.ts';
import { argValue, DEFAULT_CONFIG, syntheticBatch } from './train-bench.ts';

export interface ParallelTrainBenchOptions {
  /** Workers of the parallel line (default: one per core, os.availableParallelism()). */
  readonly workers?: number;
  readonly batchSize?: number;
  readonly steps?: number;
  readonly config?: Partial<DecoderConfig>;
  readonly epsilon?: number;
  /**
   * Untimed steps before timing (default 24). A worker thread's isolate starts cold: V8 keeps optimising tfjs's
   * functions for about the first 25 steps, on background threads that share the cores with the workers
   * (measured with --trace-opt: ~1.2 s of compiling in the first step, still ~10–50 ms per step up to step ~25,
   * little after). A training run takes thousands of steps, so the lines time the steady state; the warm-up
   * steps' own median is in each line (`warmup_ms_per_step`).
   */
  readonly warmup?: number;
  /** Timed steps per line (default 7). */
  readonly repeats?: number;
}

export interface WorkersLine {
      readonly bench: 'train_workers';
      readonly backend: string;
      readonly workers: number;
      readonly B: number;
      readonly T: number;
      readonly epsilon: number;
      readonly ms_per_step: number;
      /** CPU time of the whole process (every thread) per step, median: unlike wall time, barely affected by other load. */
      readonly cpu_ms_per_step: number;
      /**
       * CPU time per step of the threads that compute (1 worker: this thread; N: each worker thread, the largest),
       * median: the load-independent cost of one step's work, without the runtime's helper threads (JIT compiling, GC). Null where the
       * system does not report thread CPU time (util/thread-cpu.ts).
       */
      readonly thread_cpu_ms_per_step: number | null;
      readonly tokens_per_s: number;
      readonly steps_timed: number;
      /** Untimed steps before the timed ones, and their median wall time (the cold start: see `warmup`). */
      readonly warmup_steps: number;
      readonly warmup_ms_per_step: number | null;
}

export type ParallelTrainBenchLine =
  | WorkersLine
  | {
      readonly bench: 'train_workers_ratio';
      readonly backend: string;
      readonly workers: number;
      readonly cores: number;
      /** N-worker tokens/s over 1-worker tokens/s, as measured (wall clock). */
      readonly ratio: number;
      /**
       * The ratio N workers would reach with N idle cores: N × (1-worker CPU time per step) / (N-worker CPU time per
       * step). Parallel overhead lowers it; other programs' load does not. An estimate, not a measurement of speed.
       */
      readonly ratio_if_cores_idle: number;
      /**
       * 1-worker thread CPU per step over the busiest worker thread's with N: the ratio if each worker had a core of
       * its own and the runtime's helper threads cost nothing. Null without thread CPU times.
       */
      readonly ratio_by_thread_cpu: number | null;
    };

const ADAM = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** Times the step with 1 worker, then with N; returns both lines and their ratio (N-worker tokens/s over 1-worker). */
export async function runParallelTrainBench(options: ParallelTrainBenchOptions = {}): Promise<ParallelTrainBenchLine[]> {
  const report = await initBackend();
  const cfg: DecoderConfig = { ...DEFAULT_CONFIG, ...options.config };
  const B = options.batchSize ?? 64;
  const T = options.steps ?? 16;
  const epsilon = options.epsilon ?? 0.75;
  const warmup = options.warmup ?? 24;
  const repeats = options.repeats ?? 7;
  const workers = options.workers ?? availableParallelism();
  const batch = syntheticBatch(cfg, B, T, new Rng(2024));
  const weights = initDecoderWeights(cfg, 1);
  const adam = new Adam(weights, ADAM);
  const seeds = new Rng(5);
  const lines: ParallelTrainBenchLine[] = [];
  const line = (n: number, { ms, cpu, threadCpu, tokens, warmupMs }: StepTimings): WorkersLine => ({
    bench: 'train_workers',
    backend: report.backend,
    workers: n,
    B,
    T,
    epsilon,
    ms_per_step: round(median(ms)),
    cpu_ms_per_step: round(median(cpu)),
    thread_cpu_ms_per_step: threadCpu.length === ms.length ? round(median(threadCpu)) : null,
    tokens_per_s: Math.round((tokens / median(ms)) * 1000),
    steps_timed: ms.length,
    warmup_steps: warmupMs.length,
    warmup_ms_per_step: warmupMs.length > 0 ? round(median(warmupMs)) : null,
  });
  const time = (pool: TrainPool | null): Promise<StepTimings> => timeSteps({ weights, adam, decoderConfig: cfg, pool }, batch, seeds, { epsilon, warmup, repeats });
  try {
    const timed = await time(null);
    const one = line(1, timed);
    lines.push(one);
    if (workers >= 2 && report.tfjsBackend === 'wasm') {
      const pool = await TrainPool.start({ workers, decoderConfig: cfg, adamConfig: ADAM, weights, adam });
      try {
        const many = await time(pool);
        const parallel = line(workers, many);
        lines.push(parallel);
        const ratio = parallel.tokens_per_s / one.tokens_per_s;
        lines.push({
          bench: 'train_workers_ratio',
          backend: report.backend,
          workers,
          cores: availableParallelism(),
          ratio: round(ratio, 2),
          ratio_if_cores_idle: round((workers * one.cpu_ms_per_step) / parallel.cpu_ms_per_step, 2),
          ratio_by_thread_cpu:
            one.thread_cpu_ms_per_step !== null && parallel.thread_cpu_ms_per_step ? round(one.thread_cpu_ms_per_step / parallel.thread_cpu_ms_per_step, 2) : null,
        });
      } finally {
        await pool.close();
      }
    }
  } finally {
    adam.dispose();
    disposeDecoderWeights(weights);
    batch.features.dispose();
  }
  return lines;
}

interface StepTimings {
  readonly ms: number[];
  readonly cpu: number[];
  readonly threadCpu: number[];
  readonly tokens: number;
  /** Wall time of each untimed warm-up step. */
  readonly warmupMs: number[];
}

/** Wall, process CPU and computing-thread CPU time of `warmup + repeats` trainer steps (the warm-up ones untimed). */
async function timeSteps(
  ctx: Parameters<typeof optimisationStep>[0],
  batch: CaptionBatch,
  seeds: Rng,
  o: { readonly epsilon: number; readonly warmup: number; readonly repeats: number },
): Promise<StepTimings> {
  const ms: number[] = [];
  const cpu: number[] = [];
  const threadCpu: number[] = [];
  const warmupMs: number[] = [];
  let tokens = 0;
  for (let i = 0; i < o.warmup + o.repeats; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const own0 = threadCpuMs();
    // With a pool, a step's time includes the previous step's Adam update, which the workers run before it.
    const step = await optimisationStep(ctx, batch, { batchSeed: seeds.nextUint32(), epsilon: o.epsilon, sampling: 'argmax', lr: 1e-3, clipNorm: 5, where: `bench step ${i}` });
    if (i >= o.warmup) {
      ms.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      const own1 = threadCpuMs();
      // A worker's figure covers its previous update and this step's pass and reduction.
      const workerCpu = step.workerMs?.map((w) => w.cpu);
      const busiest = workerCpu?.every((x): x is number => x !== null) ? Math.max(...workerCpu) : null;
      const value = ctx.pool ? busiest : own0 !== null && own1 !== null ? own1 - own0 : null;
      if (value !== null) threadCpu.push(value);
    } else warmupMs.push(performance.now() - t0);
    tokens = step.tokens;
  }
  return { ms, cpu, threadCpu, tokens, warmupMs };
}

/**
 * One line per backend other than the running one (bench/backend-lines.ts): the trainer's one-thread step timed on
 * each that the automatic choice may take, at the same sizes; the reason for every other. Returns to the running
 * backend after each.
 */
export async function runOtherBackendsTrainBench(options: Pick<ParallelTrainBenchOptions, 'batchSize' | 'steps' | 'epsilon' | 'warmup' | 'repeats'> = {}): Promise<OtherBackendLine[]> {
  const report = await initBackend();
  const B = options.batchSize ?? 64;
  const T = options.steps ?? 16;
  return otherBackendLines(await probeBackends(), report.backend, async (backend) => {
    try {
      const on = await initBackend({ prefer: backend });
      if (on.backend !== backend) throw new Error(`${backend} did not start (${on.backend} runs)`);
      const cfg = DEFAULT_CONFIG;
      const batch = syntheticBatch(cfg, B, T, new Rng(2024));
      const weights = initDecoderWeights(cfg, 1);
      const adam = new Adam(weights, ADAM);
      try {
        const t = await timeSteps({ weights, adam, decoderConfig: cfg, pool: null }, batch, new Rng(5), { epsilon: options.epsilon ?? 0.75, warmup: options.warmup ?? 1, repeats: options.repeats ?? 5 });
        return { ms_per_step: round(median(t.ms)), tokens_per_s: Math.round((t.tokens / median(t.ms)) * 1000), steps_timed: t.ms.length };
      } finally {
        adam.dispose();
        disposeDecoderWeights(weights);
        batch.features.dispose();
      }
    } finally {
      await initBackend({ prefer: report.backend });
    }
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const workers = argValue('--workers');
  const repeats = argValue('--steps');
  const warmup = argValue('--warmup');
  const lines = await runParallelTrainBench({ ...(workers ? { workers } : {}), ...(repeats ? { repeats } : {}), ...(warmup !== undefined ? { warmup } : {}) });
  for (const l of lines) console.log(JSON.stringify(l));
}
