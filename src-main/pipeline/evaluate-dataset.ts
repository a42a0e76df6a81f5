/**
 * The "evaluate a model" use case: the model's held-out images (its recorded split, or the dataset's own; refused
 * when it has none), their features through the cache, the COCO caption scores of its captions and, on request,
 * of the nearest-neighbour baseline. The CLI's `eval` renders what this returns.
 */
import path from 'node:path';
import { readBundleInfo } from '../engine/bundle.ts';
import type { CaptionModel } from '../engine/caption-model.ts';
import type { ImageEncoder } from '../engine/encoder.ts';
import type { Dataset, DatasetFormat } from '../data/dataset-types.ts';
import type { ProgressListener } from '../util/progress.ts';
import { evaluateModel, evaluateNearestNeighbour, type Evaluation } from './evaluate.ts';
import { missingTestSplit, recordedSplit } from './model-split.ts';
import { featuresOf, itemsOf, openDataset } from './training-data.ts';

export type EvaluationSplit = 'train' | 'val' | 'test' | 'all';

export interface EvaluateDatasetOptions {
  readonly modelDir: string;
  readonly dataset: { readonly path: string; readonly format?: DatasetFormat | 'auto'; readonly imagesDir?: string; readonly keepDuplicateCaptions?: boolean };
  readonly split: EvaluationSplit;
  readonly beamSize?: number;
  readonly blockRepeatedNgram?: number;
  /** Captions never end on an article, preposition or conjunction (decoding's default; false lets them). */
  readonly finishSentences?: boolean;
  /** Also score the nearest-neighbour baseline (needs the test or val split). */
  readonly baseline?: boolean;
  readonly cacheDir?: string;
  /** Loads the model and its encoder once the split has been checked. */
  readonly load: () => Promise<{ readonly model: CaptionModel; readonly encoder: ImageEncoder }>;
  readonly signal?: AbortSignal;
}

export interface EvaluateDatasetEvents {
  /** The dataset is read and split: a last check before any image is read (e.g. that an output file is not one of its files). */
  readonly onDataset?: (dataset: Dataset) => void | Promise<void>;
  readonly onProgress?: ProgressListener;
  readonly onWarning?: (message: string) => void;
  readonly onUnreadable?: (failures: readonly { path: string; error: string }[]) => void;
}

export interface DatasetEvaluation {
  readonly dataset: Dataset;
  readonly model: CaptionModel;
  readonly evaluation: Evaluation;
  readonly baseline?: Evaluation;
  /** Images that could not be read (left out). */
  readonly skipped: number;
}

/** Scores a model on a split of a dataset; see the module comment. */
export async function evaluateOnDataset(opts: EvaluateDatasetOptions, events: EvaluateDatasetEvents = {}): Promise<DatasetEvaluation> {
  if (opts.baseline && (opts.split === 'all' || opts.split === 'train')) {
    throw new Error(`the nearest-neighbour baseline looks captions up in the train split, so it needs the test or val split (not ${opts.split})`);
  }
  // Which images are held out comes from the model's record, read before any weights or images are loaded.
  const info = await readBundleInfo(opts.modelDir);
  const seeded = recordedSplit(info.metadata);
  const dataset = await openDataset(opts.dataset.path, {
    ...(opts.dataset.format ? { format: opts.dataset.format } : {}),
    ...(opts.dataset.imagesDir ? { imagesDir: opts.dataset.imagesDir } : {}),
    ...(seeded ? { split: seeded } : {}),
    ...(opts.dataset.keepDuplicateCaptions ? { keepDuplicateCaptions: true } : {}),
  });
  // Held-out images exist only where the model recorded its split (or the dataset brings its own): anything else
  // would score images the model may have trained on.
  const missing = dataset.splits.kind === 'dataset' ? null : missingTestSplit(info.metadata);
  if (missing && (opts.split === 'test' || (opts.split === 'val' && !seeded))) {
    throw new Error(`${path.resolve(opts.modelDir)}: ${missing}; --split all scores every image anyway (not a held-out figure)`);
  }
  await events.onDataset?.(dataset);
  const items = itemsOf(dataset, opts.split);
  if (items.length === 0) {
    const counts = ['train', 'val', 'test'].map((s) => `${s} ${dataset.items.filter((i) => i.split === s).length}`).join(', ');
    throw new Error(`${dataset.source}: no captioned images in split '${opts.split}' (${counts}); choose another with --split`);
  }
  const { model, encoder } = await opts.load();
  const cache = {
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(events.onWarning ? { onWarning: events.onWarning } : {}),
  };
  const { featured, failures } = await featuresOf(items, encoder, { ...cache, ...(events.onProgress ? { onProgress: events.onProgress } : {}) });
  if (failures.length) events.onUnreadable?.(failures);
  const evaluation = evaluateModel(model, encoder.id, featured, {
    ...(opts.beamSize !== undefined ? { beamSize: opts.beamSize } : {}),
    ...(opts.blockRepeatedNgram !== undefined ? { blockRepeatedNgram: opts.blockRepeatedNgram } : {}),
    ...(opts.finishSentences !== undefined ? { finishSentences: opts.finishSentences } : {}),
  });
  let baseline: Evaluation | undefined;
  if (opts.baseline) {
    const trainItems = itemsOf(dataset, 'train').filter((i) => !items.includes(i));
    const train = await featuresOf(trainItems, encoder, cache);
    baseline = evaluateNearestNeighbour(train.featured, featured);
  }
  return { dataset, model, evaluation, ...(baseline ? { baseline } : {}), skipped: failures.length };
}
