/**
 * A trained caption model in memory: decoder weights and config, the vocabulary its ids refer to, the id of the
 * image encoder whose features it was trained on, and metadata about how it came to be. Saved and loaded as a
 * bundle (bundle.ts), used by the captioner (captioner.ts).
 */
import type { DecoderConfig, DecoderWeights } from './model-types.ts';
import type { LearningRateSchedule, EpsilonSchedule } from './schedules.ts';
import type { TrainConfig } from './train-config.ts';
import type { BatchRecord, BestRecord, EpochRecord } from './train-history.ts';
import type { Vocabulary } from './vocab.ts';

/** A JSON value (free-form provenance must survive JSON round trips). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** How the model was trained: config, schedules and what each epoch measured. */
export interface TrainingSummary {
  readonly config: TrainConfig;
  readonly schedule: EpsilonSchedule;
  readonly learningRate: LearningRateSchedule;
  readonly history: readonly EpochRecord[];
  /** Per mini-batch records (loss, the ε actually used…); may be left out to keep a bundle small. */
  readonly batchLog?: readonly BatchRecord[];
  readonly best: BestRecord | null;
  /** Why training ended ('in-progress' while the run that saved it is still going). */
  readonly stoppedBy: 'epochs' | 'early-stopping' | 'cancelled' | 'in-progress';
}

/** Everything about a model that is not weights. */
export interface ModelMetadata {
  /** Human-readable name shown in the UI (default: the bundle's folder name). */
  readonly name?: string;
  /** ISO date the model was made. */
  readonly createdAt: string;
  readonly training?: TrainingSummary;
  /** Validation metrics of the saved weights, e.g. { bleu4, ciderD, valLoss }. */
  readonly metrics?: Readonly<Record<string, number>>;
  /** Free-form: command line, dataset, machine… */
  readonly provenance?: { readonly [key: string]: JsonValue };
}

/** A caption model: owns its weight variables (free them with `disposeCaptionModel`). */
export interface CaptionModel {
  readonly config: DecoderConfig;
  readonly vocab: Vocabulary;
  readonly weights: DecoderWeights;
  /** The encoder whose features the decoder expects, e.g. "mobilenet_v1_0.75_224". */
  readonly encoderId: string;
  readonly metadata: ModelMetadata;
  /** Where it was loaded from, for error messages (not saved). */
  readonly source?: string;
}

/** Frees the model's weight tensors. */
export function disposeCaptionModel(model: CaptionModel): void {
  for (const w of Object.values(model.weights)) w.dispose();
}

/** A short name for messages: the metadata name, else the source folder, else "the model". */
export function modelLabel(model: CaptionModel): string {
  return model.metadata.name ?? model.source ?? 'the model';
}

/**
 * Throws a clear error unless features from encoder `encoderId` fit the model
 * (`model X expects encoder A, features come from B`).
 */
export function assertEncoderMatches(model: CaptionModel, encoderId: string): void {
  if (encoderId !== model.encoderId) {
    throw new Error(`model ${modelLabel(model)} expects encoder ${model.encoderId}, features come from ${encoderId}`);
  }
}
