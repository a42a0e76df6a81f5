/**
 * Training schedules as small pure functions of a counter: the scheduled-sampling probability ε_i of feeding the
 * true previous word (Bengio et al. 2015, as in the lecture notes), indexed by the global mini-batch index i, and
 * the learning rate, indexed by the epoch.
 */
import { z } from 'zod';

/**
 * How ε_i (the probability of teacher forcing at a token position) falls with the mini-batch index i:
 * - `none`: always teacher forcing, ε = 1;
 * - `always`: always the model's own previous word, ε = 0;
 * - `linear`: ε_i = max(ε_min, k − c·i);
 * - `exponential`: ε_i = k^i (0 < k ≤ 1), never below `epsMin` (default 0);
 * - `inverse-sigmoid`: ε_i = k / (k + exp(i/k)) (k ≥ 1), never below `epsMin` (default 0).
 * Every value is finally clamped to [0, 1], since ε is a probability.
 */
export type EpsilonSchedule =
  | { readonly type: 'none' }
  | { readonly type: 'always' }
  | { readonly type: 'linear'; readonly k: number; readonly c: number; readonly epsMin: number }
  | { readonly type: 'exponential'; readonly k: number; readonly epsMin?: number }
  | { readonly type: 'inverse-sigmoid'; readonly k: number; readonly epsMin?: number };

export type EpsilonScheduleType = EpsilonSchedule['type'];

/** Every schedule type, in the order menus list them. */
export const EPSILON_SCHEDULE_TYPES = ['none', 'linear', 'exponential', 'inverse-sigmoid', 'always'] as const satisfies readonly EpsilonScheduleType[];

/**
 * The parameters each schedule type starts from when the user picks it without giving them (the CLI's `--schedule`
 * without `--k`/`--c`/`--eps-min`, the Train view's schedule menu).
 */
export const SCHEDULE_PRESETS: { readonly [T in EpsilonScheduleType]: Extract<EpsilonSchedule, { type: T }> } = {
  none: { type: 'none' },
  always: { type: 'always' },
  linear: { type: 'linear', k: 1, c: 1.25e-4, epsMin: 0.75 }, // from 1 down to the floor over 2,000 batches
  exponential: { type: 'exponential', k: 0.9998, epsMin: 0.75 }, // ε_i = k^i: 0.75 after ~1,440 batches
  'inverse-sigmoid': { type: 'inverse-sigmoid', k: 150, epsMin: 0.75 }, // Bengio et al.; 0.9 near batch 310
};

/** Throws a one-line error when a schedule's parameters make no sense (e.g. exponential with k > 1). */
export function validateEpsilonSchedule(schedule: EpsilonSchedule): void {
  const bad = (why: string): never => {
    throw new Error(`epsilon schedule '${schedule.type}': ${why}`);
  };
  const checkMin = (epsMin: number | undefined): void => {
    if (epsMin !== undefined && !(epsMin >= 0 && epsMin <= 1)) bad(`epsMin must be in [0, 1], got ${epsMin}`);
  };
  switch (schedule.type) {
    case 'none':
    case 'always':
      return;
    case 'linear':
      if (!Number.isFinite(schedule.k)) bad(`k must be a finite number, got ${schedule.k}`);
      if (!(schedule.c >= 0 && Number.isFinite(schedule.c))) bad(`c must be a finite number ≥ 0, got ${schedule.c}`);
      checkMin(schedule.epsMin);
      return;
    case 'exponential':
      if (!(schedule.k > 0 && schedule.k <= 1)) bad(`k must be in (0, 1], got ${schedule.k}`);
      checkMin(schedule.epsMin);
      return;
    case 'inverse-sigmoid':
      if (!(schedule.k >= 1 && Number.isFinite(schedule.k))) bad(`k must be a finite number ≥ 1, got ${schedule.k}`);
      checkMin(schedule.epsMin);
      return;
  }
}

/**
 * The schema of an ε schedule, with `validateEpsilonSchedule`'s checks: the one definition the trainer's config,
 * checkpoints and the UI contract all validate with.
 */
export const epsilonScheduleSchema: z.ZodType<EpsilonSchedule, EpsilonSchedule> = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('none') }).strict(),
    z.object({ type: z.literal('always') }).strict(),
    z.object({ type: z.literal('linear'), k: z.number(), c: z.number(), epsMin: z.number() }).strict(),
    z.object({ type: z.literal('exponential'), k: z.number(), epsMin: z.number().optional() }).strict(),
    z.object({ type: z.literal('inverse-sigmoid'), k: z.number(), epsMin: z.number().optional() }).strict(),
  ])
  .superRefine((schedule, ctx) => {
    try {
      validateEpsilonSchedule(schedule as EpsilonSchedule);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  }) as z.ZodType<EpsilonSchedule, EpsilonSchedule>;

/** ε_i: the probability of feeding the true previous word at mini-batch i (global, counting across epochs). */
export function epsilonAt(schedule: EpsilonSchedule, i: number): number {
  if (!(Number.isInteger(i) && i >= 0)) throw new Error(`epsilonAt: batch index must be an integer ≥ 0, got ${i}`);
  let eps: number;
  switch (schedule.type) {
    case 'none':
      return 1;
    case 'always':
      return 0;
    case 'linear':
      eps = Math.max(schedule.epsMin, schedule.k - schedule.c * i);
      break;
    case 'exponential':
      eps = Math.max(schedule.epsMin ?? 0, Math.pow(schedule.k, i));
      break;
    case 'inverse-sigmoid':
      // exp(i/k) overflows to Infinity for large i, which correctly gives ε = 0.
      eps = Math.max(schedule.epsMin ?? 0, schedule.k / (schedule.k + Math.exp(i / schedule.k)));
      break;
  }
  return Math.min(1, Math.max(0, eps));
}

/** One point of a planned ε curve. */
export interface CurvePoint {
  readonly batch: number;
  readonly epsilon: number;
}

/**
 * The ε curve over a planned run of `totalBatches` mini-batches (for the UI to plot), sampled at no more than
 * `maxPoints` evenly spaced batch indices; the first (0) and the last (totalBatches − 1) are always included.
 */
export function epsilonCurve(schedule: EpsilonSchedule, totalBatches: number, maxPoints = 200): CurvePoint[] {
  if (!(Number.isInteger(totalBatches) && totalBatches >= 0)) {
    throw new Error(`epsilonCurve: totalBatches must be an integer ≥ 0, got ${totalBatches}`);
  }
  if (!(Number.isInteger(maxPoints) && maxPoints >= 2)) {
    throw new Error(`epsilonCurve: maxPoints must be an integer ≥ 2, got ${maxPoints}`);
  }
  if (totalBatches === 0) return [];
  const n = Math.min(totalBatches, maxPoints);
  const points: CurvePoint[] = [];
  let last = -1;
  for (let p = 0; p < n; p++) {
    const batch = n === 1 ? 0 : Math.round((p * (totalBatches - 1)) / (n - 1));
    if (batch === last) continue;
    last = batch;
    points.push({ batch, epsilon: epsilonAt(schedule, batch) });
  }
  return points;
}

/** Mini-batches in a planned run: ⌈examples / batchSize⌉ per epoch (the last batch may be short), times epochs. */
export function plannedBatches(examples: number, batchSize: number, epochs: number): number {
  if (examples <= 0) return 0;
  return Math.ceil(examples / batchSize) * epochs;
}

/**
 * Step decay of the learning rate by epoch, as in neuraltalk2 / ImageCaptioning.pytorch:
 * lr_e = max(minLr, lr · decayRate^⌊(e − decayStart) / decayEvery⌋) once e ≥ decayStart, lr before.
 * `decayRate` 1 means a constant rate.
 */
export interface LearningRateSchedule {
  /** The initial learning rate. */
  readonly lr: number;
  /** Factor applied every `decayEvery` epochs (1 = no decay). */
  readonly decayRate: number;
  /** Epochs between two decays. */
  readonly decayEvery: number;
  /** First (0-based) epoch from which decay counts. */
  readonly decayStart: number;
  /** Floor of the decayed rate. */
  readonly minLr: number;
}

/** Throws a one-line error when a learning-rate schedule's parameters make no sense. */
export function validateLearningRateSchedule(s: LearningRateSchedule): void {
  const bad = (why: string): never => {
    throw new Error(`learning-rate schedule: ${why}`);
  };
  if (!(s.lr > 0 && Number.isFinite(s.lr))) bad(`lr must be a finite number > 0, got ${s.lr}`);
  if (!(s.decayRate > 0 && s.decayRate <= 1)) bad(`decayRate must be in (0, 1], got ${s.decayRate}`);
  if (!(Number.isInteger(s.decayEvery) && s.decayEvery >= 1)) bad(`decayEvery must be an integer ≥ 1, got ${s.decayEvery}`);
  if (!(Number.isInteger(s.decayStart) && s.decayStart >= 0)) bad(`decayStart must be an integer ≥ 0, got ${s.decayStart}`);
  if (!(s.minLr >= 0 && s.minLr <= s.lr)) bad(`minLr must be in [0, lr], got ${s.minLr}`);
}

/** The learning rate during (0-based) epoch `epoch`. */
export function learningRateAt(schedule: LearningRateSchedule, epoch: number): number {
  if (!(Number.isInteger(epoch) && epoch >= 0)) {
    throw new Error(`learningRateAt: epoch must be an integer ≥ 0, got ${epoch}`);
  }
  if (epoch < schedule.decayStart) return schedule.lr;
  const decays = Math.floor((epoch - schedule.decayStart) / schedule.decayEvery);
  return Math.max(schedule.minLr, schedule.lr * Math.pow(schedule.decayRate, decays));
}
