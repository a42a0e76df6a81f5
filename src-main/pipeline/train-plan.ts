/**
 * The "plan a training run" use case: the defaults every front end starts from, and what a run on a dataset will
 * see — its split, training examples, vocabulary (the trainer's own counting rule), batches and ε curve — worked
 * out by the same code that trains, so the Train view never recomputes any of it.
 */
import { assignSplits } from '../data/dataset.ts';
import type { Dataset, SplitSpec } from '../data/dataset-types.ts';
import { EPSILON_SCHEDULE_TYPES, epsilonCurve, SCHEDULE_PRESETS, type EpsilonSchedule } from '../engine/schedules.ts';
import { tokenize } from '../text/tokenize.ts';
import { planTraining } from '../engine/train.ts';
import { DEFAULT_TRAIN_CONFIG, resolveTrainConfig } from '../engine/train-config.ts';
import { Vocabulary } from '../engine/vocab.ts';
import { SPECIAL_TOKENS } from '../engine/model-types.ts';
import { DEFAULT_SPLIT, itemsOf } from './training-data.ts';

/** The settings a new run starts from, in the units the front ends show. */
export interface TrainingDefaults {
  readonly epochs: number;
  readonly batchSize: number;
  readonly hiddenDim: number;
  readonly embedDim: number;
  readonly learningRate: number;
  readonly valFraction: number;
  readonly testFraction: number;
  readonly patience: number;
  readonly minCount: number;
  readonly seed: number;
  readonly schedule: EpsilonSchedule;
  readonly schedulePresets: { readonly [T in EpsilonSchedule['type']]: EpsilonSchedule };
}

export function trainingDefaults(): TrainingDefaults {
  const d = DEFAULT_TRAIN_CONFIG;
  return {
    epochs: d.epochs,
    batchSize: d.batchSize,
    hiddenDim: d.hiddenDim,
    embedDim: d.embedDim,
    learningRate: d.learningRate.lr,
    valFraction: DEFAULT_SPLIT.valFraction,
    testFraction: DEFAULT_SPLIT.testFraction,
    patience: d.patience,
    minCount: d.minWordCount,
    seed: DEFAULT_SPLIT.seed,
    schedule: d.schedule,
    schedulePresets: Object.fromEntries(EPSILON_SCHEDULE_TYPES.map((t) => [t, SCHEDULE_PRESETS[t]])) as TrainingDefaults['schedulePresets'],
  };
}

export interface PlanRequest {
  readonly epochs?: number;
  readonly batchSize?: number;
  readonly minCount?: number;
  readonly split?: Partial<SplitSpec>;
  readonly schedule?: EpsilonSchedule;
}

/** A planned run on a dataset: what the trainer will see, counted as the trainer counts it. */
export interface DatasetPlan {
  readonly source: string;
  readonly format: string;
  readonly images: number;
  readonly captions: number;
  /** Captioned images in each part (the dataset's own split, else the seeded one asked for). */
  readonly trainImages: number;
  readonly valImages: number;
  readonly testImages: number;
  /** Training examples: (image, non-empty caption) pairs of the train part. */
  readonly examples: number;
  /** Words of the train captions seen at least `minCount` times: the model's vocabulary without its 4 special tokens. */
  readonly vocabularySize: number;
  readonly minCount: number;
  readonly batchesPerEpoch: number;
  readonly totalBatches: number;
}

export interface RunPlan {
  readonly defaults: TrainingDefaults;
  /** Null when no dataset was given. */
  readonly dataset: DatasetPlan | null;
  /** ε over the planned run's mini-batches (over 1,000 batches when there is no dataset yet). */
  readonly epsilon: readonly { readonly batch: number; readonly epsilon: number }[];
}

/** Batches the ε curve spans before a dataset is chosen. */
const CURVE_WITHOUT_DATASET = 1000;

/** Plans a run of `request` on `dataset` (as read, before any split; null: the defaults and a nominal ε curve). */
export function planRun(dataset: Dataset | null, request: PlanRequest = {}): RunPlan {
  const config = resolveTrainConfig({
    ...(request.epochs !== undefined ? { epochs: request.epochs } : {}),
    ...(request.batchSize !== undefined ? { batchSize: request.batchSize } : {}),
    ...(request.minCount !== undefined ? { minWordCount: request.minCount } : {}),
    ...(request.schedule ? { schedule: request.schedule } : {}),
  });
  const defaults = trainingDefaults();
  if (!dataset) return { defaults, dataset: null, epsilon: epsilonCurve(config.schedule, CURVE_WITHOUT_DATASET) };
  const split: SplitSpec = { ...DEFAULT_SPLIT, ...request.split };
  const splitted = assignSplits(dataset, split);
  const train = itemsOf(splitted, 'train').map((item) => ({ features: new Float32Array(0), captions: item.captions.map((c) => tokenize(c)) }));
  const plan = planTraining(train, config);
  const vocab = Vocabulary.build(
    train.flatMap((img) => img.captions),
    { minCount: config.minWordCount },
  );
  return {
    defaults,
    dataset: {
      source: dataset.source,
      format: dataset.format,
      images: dataset.items.length,
      captions: dataset.items.reduce((n, item) => n + item.captions.length, 0),
      trainImages: train.length,
      valImages: itemsOf(splitted, 'val').length,
      testImages: itemsOf(splitted, 'test').length,
      examples: plan.examples,
      vocabularySize: vocab.size - SPECIAL_TOKENS.length,
      minCount: config.minWordCount,
      batchesPerEpoch: plan.batchesPerEpoch,
      totalBatches: plan.totalBatches,
    },
    epsilon: plan.epsilon,
  };
}
