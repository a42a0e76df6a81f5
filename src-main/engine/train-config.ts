/**
 * The training run's configuration: a typed object with a comment on every default, a schema that checks it
 * (user input and checkpoints alike), and the comparison that refuses to resume with a different config.
 */
import { z } from 'zod';
import type { Injection } from './model-types.ts';
import type { EpsilonSchedule, LearningRateSchedule } from './schedules.ts';
import { epsilonScheduleSchema, SCHEDULE_PRESETS, validateLearningRateSchedule } from './schedules.ts';

/** Which validation figure picks the best checkpoint and drives early stopping. */
export type SelectionMetric = 'ciderD' | 'bleu4' | 'valLoss';

export interface AdamConfig {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
}

export interface TrainConfig {
  /** Passes over the training captions. */
  readonly epochs: number;
  /** Captions per mini-batch. */
  readonly batchSize: number;
  /** Word embedding size E. */
  readonly embedDim: number;
  /** LSTM hidden size H. */
  readonly hiddenDim: number;
  /** Where the image feature enters the gates: every step (the notes' W_ih·v) or only at t = 0. */
  readonly injection: Injection;
  /** Dropout probability on the embedded input and on h before the output projection (training only). */
  readonly dropout: number;
  /** Adam's step size and its step decay by epoch. */
  readonly learningRate: LearningRateSchedule;
  /** Gradients are rescaled so that their global L2 norm is at most this (0 turns clipping off). */
  readonly clipNorm: number;
  /** Adam's moment decay rates and denominator epsilon. */
  readonly adam: AdamConfig;
  /** ε_i, the probability of feeding the true previous word, as a function of the global mini-batch index. */
  readonly schedule: EpsilonSchedule;
  /** When the model's own word is fed: sampled from its output distribution, or its argmax. */
  readonly sampling: 'sample' | 'argmax';
  /** Epochs without improvement of `selectBy` before stopping early (0 never stops early). */
  readonly patience: number;
  /** The validation figure that picks the best checkpoint (falls back to train loss without validation data). */
  readonly selectBy: SelectionMetric;
  /** Words seen fewer times than this in the training captions become <unk>. */
  readonly minWordCount: number;
  /** Longest caption in words (without <start>/<end>); longer training captions are truncated. Also the decode limit. */
  readonly maxLength: number;
  /** Seeds weight initialisation, shuffling, dropout and scheduled sampling. */
  readonly seed: number;
  /** At most this many validation images are captioned (greedy) each epoch for BLEU-4 and CIDEr-D. */
  readonly valMaxImages: number;
  /** Validation images whose greedy captions each epoch report carries (the UI shows them). */
  readonly sampleCaptions: number;
}

/** The defaults, each chosen for a frozen-MobileNet show-and-tell model trained on a few thousand images. */
export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  epochs: 20, // small datasets converge within ~10–20 epochs; early stopping ends most runs sooner
  batchSize: 64, // the bench's reference size; big enough for stable Adam steps, small enough for many updates
  embedDim: 256, // the issue's reference E
  hiddenDim: 512, // the issue's reference H (show-and-tell used 512)
  injection: 'every', // the lecture notes' W_ih·v at every step
  dropout: 0.3, // moderate: datasets here are small, so some regularisation helps; 0.5 slowed learning on toy runs
  learningRate: {
    lr: 2e-3, // Adam with clipping tolerates this; ~4× neuraltalk2's 5e-4 because runs here are short
    decayRate: 0.8, // ImageCaptioning.pytorch's learning_rate_decay_rate
    decayEvery: 3, // … and learning_rate_decay_every (epochs)
    decayStart: 0, // decay counts from the first epoch
    minLr: 1e-5, // never slower than this
  },
  clipNorm: 5, // the usual global-norm clip for LSTMs; only the rare exploding batch is touched
  adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }, // Kingma & Ba's defaults
  // Bengio et al.'s inverse sigmoid: ε starts at 0.99 and falls through 0.9 near batch 310; the floor keeps at
  // least 75% teacher forcing (ImageCaptioning.pytorch caps its sampling probability at 0.25 for the same reason).
  schedule: SCHEDULE_PRESETS['inverse-sigmoid'],
  sampling: 'sample', // Bengio et al. sample from the model's distribution
  patience: 5, // epochs without a better selection metric before stopping
  selectBy: 'ciderD', // CIDEr-D tracks caption quality better than loss (ImageCaptioning.pytorch selects on it)
  minWordCount: 5, // neuraltalk2's word_count_threshold
  maxLength: 16, // neuraltalk2's max_length; ~98% of COCO captions fit
  seed: 1, // any fixed value; same seed + same data + same config → same weights
  valMaxImages: 500, // enough for stable BLEU/CIDEr, a few seconds of greedy decoding
  sampleCaptions: 3, // a handful of captions to eyeball each epoch
};

/** A partial config from the user: any field may be left out, nested objects too. */
export type TrainConfigInput = {
  readonly [K in keyof TrainConfig]?: TrainConfig[K] extends EpsilonSchedule
    ? EpsilonSchedule
    : TrainConfig[K] extends object
      ? Partial<TrainConfig[K]>
      : TrainConfig[K];
};

const positiveInt = z.number().int().min(1);

/** The schema of a complete config (as stored in checkpoints). */
export const trainConfigSchema = z
  .object({
    epochs: positiveInt,
    batchSize: positiveInt,
    embedDim: positiveInt,
    hiddenDim: positiveInt,
    injection: z.enum(['every', 'init']),
    dropout: z.number().min(0).lt(1),
    learningRate: z
      .object({
        lr: z.number().positive(),
        decayRate: z.number(),
        decayEvery: z.number(),
        decayStart: z.number(),
        minLr: z.number(),
      })
      .strict(),
    clipNorm: z.number().min(0),
    adam: z.object({ beta1: z.number().min(0).lt(1), beta2: z.number().min(0).lt(1), epsilon: z.number().positive() }).strict(),
    schedule: epsilonScheduleSchema,
    sampling: z.enum(['sample', 'argmax']),
    patience: z.number().int().min(0),
    selectBy: z.enum(['ciderD', 'bleu4', 'valLoss']),
    minWordCount: positiveInt,
    maxLength: positiveInt,
    seed: z.number().int().min(0).max(0xffffffff),
    valMaxImages: z.number().int().min(0),
    sampleCaptions: z.number().int().min(0),
  })
  .strict();

/** Fills the defaults into a partial config and checks it; a bad field is a one-line error naming it. */
export function resolveTrainConfig(input: TrainConfigInput = {}, source = 'train config'): TrainConfig {
  const d = DEFAULT_TRAIN_CONFIG;
  const merged = {
    ...d,
    ...input,
    learningRate: { ...d.learningRate, ...input.learningRate },
    adam: { ...d.adam, ...input.adam },
    schedule: input.schedule ?? d.schedule,
  };
  return parseTrainConfig(merged, source);
}

/** Checks a complete config (e.g. read from a checkpoint); a bad field is a one-line error naming it. */
export function parseTrainConfig(value: unknown, source = 'train config'): TrainConfig {
  const parsed = trainConfigSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : '(root)';
    throw new Error(`${source}: ${where}: ${issue.message}`);
  }
  const config: TrainConfig = parsed.data;
  try {
    validateLearningRateSchedule(config.learningRate);
  } catch (err) {
    throw new Error(`${source}: ${(err as Error).message}`);
  }
  return config;
}

/** Fields that may change when resuming, because they do not alter the steps already taken. */
export const RESUMABLE_FIELDS: readonly (keyof TrainConfig)[] = ['epochs', 'patience'];

/**
 * The differences between two configs as `path: checkpoint A, requested B` lines (dotted paths for nested
 * fields), leaving out `ignore`d top-level fields. Empty when they agree.
 */
export function configDifferences(
  checkpoint: TrainConfig,
  requested: TrainConfig,
  ignore: readonly string[] = RESUMABLE_FIELDS,
): string[] {
  const a = flatten(checkpoint);
  const b = flatten(requested);
  const keys = [...new Set([...a.keys(), ...b.keys()])];
  const out: string[] = [];
  for (const key of keys) {
    if (ignore.includes(key.split('.')[0]!)) continue;
    const va = a.get(key);
    const vb = b.get(key);
    if (va !== vb) out.push(`${key}: checkpoint ${show(va)}, requested ${show(vb)}`);
  }
  return out;
}

function flatten(value: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    out.set(prefix, value);
  }
  return out;
}

function show(v: unknown): string {
  return v === undefined ? '(unset)' : typeof v === 'string' ? v : JSON.stringify(v);
}
