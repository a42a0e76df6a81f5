/**
 * The "train a model" use case, the one both front ends run (the CLI's `train`, the app's training job): read the
 * dataset, give it a split (its own, else the seeded one, recorded in the model so `eval` holds out exactly those
 * test images), compute image features through the cache, train (or resume) in a run folder, and install the
 * best epoch's bundle. Front ends only turn their input into `TrainModelOptions` and render `TrainModelEvents`.
 */
import path from 'node:path';
import type { DatasetFormat, DatasetProblem, SplitSpec } from '../data/dataset-types.ts';
import { readBundleInfo } from '../engine/bundle.ts';
import type { JsonValue } from '../engine/caption-model.ts';
import { disposeCaptionModel } from '../engine/caption-model.ts';
import { readCheckpointMeta } from '../engine/checkpoint.ts';
import type { FeatureEncoder } from '../data/feature-cache.ts';
import type { ImageEncoder } from '../engine/encoder.ts';
import { recoverRun, runPaths, train, type EpochEvent } from '../engine/train.ts';
import type { TrainConfigInput } from '../engine/train-config.ts';
import type { BatchRecord, BestRecord, EpochRecord } from '../engine/train-history.ts';
import type { WeightStorage } from '../engine/weight-quantize.ts';
import type { ProgressListener } from '../util/progress.ts';
import { installModel } from './install-model.ts';
import { recordedSplit, splitProvenance } from './model-split.ts';
import { DEFAULT_SPLIT, featureOptionsOf, openDataset, prepareTrainData } from './training-data.ts';

export interface DatasetSourceOptions {
  readonly path: string;
  readonly format?: DatasetFormat | 'auto';
  readonly imagesDir?: string;
}

export interface TrainModelOptions {
  readonly dataset: DatasetSourceOptions;
  /** Training settings; `config.ts` defaults fill the rest (the checkpoint's, when resuming). */
  readonly config: TrainConfigInput;
  /**
   * The seeded split for a dataset without its own. Fields left out come from the run being resumed, else from
   * DEFAULT_SPLIT.
   */
  readonly split?: Partial<SplitSpec>;
  /** The run's folder (checkpoints `latest/`, best epoch `best/`). */
  readonly runDir: string;
  readonly resume?: boolean;
  readonly overwrite?: boolean;
  /** Where the best epoch's bundle is installed. */
  readonly modelDir: string;
  readonly weights?: WeightStorage;
  readonly name: string;
  /** The image encoder (its id is recorded; features must all come from it). */
  readonly encoder: ImageEncoder;
  /** Computes the features of uncached images instead of `encoder` (e.g. a pool of encoder threads with its id). */
  readonly featureEncoder?: FeatureEncoder;
  readonly cacheDir?: string;
  /** Extra provenance (e.g. the command line), recorded beside the split, the data and the backend. */
  readonly provenance?: { readonly [key: string]: JsonValue };
  readonly signal?: AbortSignal;
  /** Data-parallel worker threads (engine/train's `workers`; default 1). */
  readonly workers?: number;
}

/** What a training run tells its front end, in order. */
export interface TrainModelEvents {
  /** Dataset problems (skipped entries), one line each. */
  readonly onDatasetProblems?: (dataset: { source: string; problems: readonly DatasetProblem[] }) => void;
  /** Feature extraction and training progress. */
  readonly onProgress?: ProgressListener;
  /**
   * A safe point between images and between mini-batches, where a pause blocks. It must not throw: cancel through
   * `signal`, so that training stops at the next mini-batch with a checkpoint of that position.
   */
  readonly pausePoint?: () => void;
  /** A one-line warning (e.g. the feature cache cannot be written). */
  readonly onWarning?: (message: string) => void;
  /** Images whose features could not be computed (left out). */
  readonly onUnreadable?: (failures: readonly { path: string; error: string }[]) => void;
  /** Training starts: the number of images in each part. */
  readonly onStart?: (info: { train: number; val: number; test: number; source: string; format: string }) => void;
  readonly onBatch?: (record: BatchRecord) => void;
  readonly onEpoch?: (event: EpochEvent) => void;
}

export interface TrainModelResult {
  readonly modelDir: string;
  readonly history: readonly EpochRecord[];
  readonly best: BestRecord | null;
  /** The epoch installed (the best one) and its figures. */
  readonly kept: EpochRecord | null;
  readonly stoppedBy: 'epochs' | 'early-stopping';
  readonly split: SplitSpec | 'dataset';
  readonly trainImages: number;
  readonly valImages: number;
}

/**
 * The split a run in `runDir` was started with: from its best bundle's provenance, else the seed in its latest
 * checkpoint (the fractions were then the defaults). Empty when neither can be read.
 */
export async function splitOfRun(runDir: string): Promise<Partial<SplitSpec>> {
  const { latest, best } = runPaths(runDir);
  const info = await readBundleInfo(best).catch(() => undefined);
  const recorded = info ? recordedSplit(info.metadata) : undefined;
  if (recorded) return recorded;
  const checkpoint = await readCheckpointMeta(latest).catch(() => undefined);
  return checkpoint ? { seed: checkpoint.meta.config.seed } : {};
}

/** The split to train with: the options given, then (resuming) the run's own, then the defaults. */
export async function resolveTrainSplit(given: Partial<SplitSpec> | undefined, runDir: string, resume: boolean): Promise<SplitSpec> {
  const ofRun = resume ? await splitOfRun(runDir) : {};
  const pick = <K extends keyof SplitSpec>(key: K): SplitSpec[K] => given?.[key] ?? ofRun[key] ?? DEFAULT_SPLIT[key];
  return { seed: pick('seed'), valFraction: pick('valFraction'), testFraction: pick('testFraction') };
}

/** Trains (or resumes) a model on a dataset and installs its best epoch; see the module comment. */
export async function trainModel(opts: TrainModelOptions, events: TrainModelEvents = {}, backend = 'unknown'): Promise<TrainModelResult> {
  await recoverRun(opts.runDir);
  const split = await resolveTrainSplit(opts.split, opts.runDir, opts.resume ?? false);
  const dataset = await openDataset(opts.dataset.path, {
    ...(opts.dataset.format ? { format: opts.dataset.format } : {}),
    ...(opts.dataset.imagesDir ? { imagesDir: opts.dataset.imagesDir } : {}),
    split,
  });
  if (dataset.problems.length) events.onDatasetProblems?.({ source: dataset.source, problems: dataset.problems });
  const { data, failures } = await prepareTrainData(dataset, opts.featureEncoder ?? opts.encoder, featureOptionsOf(opts, events));
  if (failures.length) events.onUnreadable?.(failures);
  if (data.train.length === 0) throw new Error(`${dataset.source}: no readable captioned images to train on`);
  const testImages = dataset.items.filter((i) => i.captions.length > 0 && i.split === 'test').length;
  events.onStart?.({ train: data.train.length, val: data.val.length, test: testImages, source: dataset.source, format: dataset.format });

  const recordedSplitValue = splitProvenance(dataset.splits.kind === 'seeded' ? split : 'dataset');
  const result = await train({
    data,
    config: opts.config,
    runDir: opts.runDir,
    ...(opts.resume ? { resume: true } : {}),
    ...(opts.overwrite ? { overwrite: true } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.workers ? { workers: opts.workers } : {}),
    name: opts.name,
    provenance: {
      ...opts.provenance,
      dataset: dataset.source,
      format: dataset.format,
      split: recordedSplitValue,
      trainImages: data.train.length,
      valImages: data.val.length,
      testImages,
      unreadableImages: failures.length,
      backend,
    },
    onProgress: (progress) => {
      events.pausePoint?.();
      events.onProgress?.(progress);
    },
    ...(events.onBatch ? { onBatch: events.onBatch } : {}),
    ...(events.onEpoch ? { onEpoch: events.onEpoch } : {}),
  });
  try {
    await installModel(path.resolve(opts.modelDir), result.model, { ...(opts.weights ? { weights: opts.weights } : {}) });
  } finally {
    disposeCaptionModel(result.model);
  }
  // The figures of the epoch that was installed (the best one), not of the last one trained.
  const kept = result.history.find((h) => h.epoch === result.best?.epoch) ?? result.history.at(-1) ?? null;
  return {
    modelDir: path.resolve(opts.modelDir),
    history: result.history,
    best: result.best,
    kept,
    stoppedBy: result.stoppedBy,
    split: dataset.splits.kind === 'seeded' ? split : 'dataset',
    trainImages: data.train.length,
    valImages: data.val.length,
  };
}
