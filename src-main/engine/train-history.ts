/**
 * What a training run records as it goes: one record per mini-batch (the ε actually used among them) and one per
 * epoch (losses and validation metrics). Stored in checkpoints and in model bundles, charted by the UI.
 */
import { z } from 'zod';

/** One mini-batch. */
export interface BatchRecord {
  /** Global mini-batch index i (counting across epochs), the argument of ε_i. */
  readonly batch: number;
  /** 0-based epoch. */
  readonly epoch: number;
  /** Mean cross-entropy per unmasked token. */
  readonly loss: number;
  /** ε_i from the schedule. */
  readonly epsilon: number;
  /** Fraction of token positions (after the first) that were actually fed the true previous word. */
  readonly teacherForced: number;
  /** Learning rate used. */
  readonly lr: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  /** Unmasked target tokens in the batch. */
  readonly tokens: number;
}

/** One epoch. Validation figures are null when there is no validation data. */
export interface EpochRecord {
  /** 1-based epoch number. */
  readonly epoch: number;
  /** Mean training loss per token over the epoch. */
  readonly trainLoss: number;
  /** Teacher-forced mean loss per token on the validation captions. */
  readonly valLoss: number | null;
  /** Corpus BLEU-4 and CIDEr-D of greedy captions of (up to valMaxImages) validation images. */
  readonly bleu4: number | null;
  readonly ciderD: number | null;
  /** Learning rate during the epoch, and ε at its last mini-batch. */
  readonly lr: number;
  readonly epsilon: number;
  readonly batches: number;
  readonly tokens: number;
  /** Wall-clock seconds spent training (without validation) in this epoch; resumed epochs add up their parts. */
  readonly seconds: number;
  /** Whether this epoch's selection metric was the best so far (so it became the best checkpoint). */
  readonly improved: boolean;
}

/** The best epoch so far by the run's selection metric. */
export interface BestRecord {
  readonly epoch: number;
  readonly metric: 'ciderD' | 'bleu4' | 'valLoss' | 'trainLoss';
  readonly value: number;
}

export const batchRecordSchema = z.object({
  batch: z.number().int().min(0),
  epoch: z.number().int().min(0),
  loss: z.number(),
  epsilon: z.number(),
  teacherForced: z.number(),
  lr: z.number(),
  gradNorm: z.number(),
  tokens: z.number(),
});

export const epochRecordSchema = z.object({
  epoch: z.number().int().min(1),
  trainLoss: z.number(),
  valLoss: z.number().nullable(),
  bleu4: z.number().nullable(),
  ciderD: z.number().nullable(),
  lr: z.number(),
  epsilon: z.number(),
  batches: z.number().int(),
  tokens: z.number(),
  seconds: z.number(),
  improved: z.boolean(),
});

export const bestRecordSchema = z.object({
  epoch: z.number().int().min(1),
  metric: z.enum(['ciderD', 'bleu4', 'valLoss', 'trainLoss']),
  value: z.number(),
});
