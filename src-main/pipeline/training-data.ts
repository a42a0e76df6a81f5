/**
 * From a dataset on disk to what the trainer and the evaluator need: splits (the dataset's own, else a seeded
 * one that is recorded so evaluation can reproduce it), image features through the on-disk feature cache, and
 * tokenised captions. Images that cannot be read are reported and left out.
 */
import { assignSplits, loadDataset, type Dataset, type DatasetFormat, type DatasetItem, type SplitSpec } from '../data/dataset.ts';
import { extractFeatures, type FeatureEncoder } from '../data/feature-cache.ts';
import type { ImageEncoder } from '../engine/encoder.ts';
import { tokenize } from '../text/tokenize.ts';
import type { TrainData, TrainImage } from '../engine/train.ts';
import type { ProgressListener } from '../util/progress.ts';

/** The split used when a dataset has none of its own: 10% validation, 10% test, by a hash of seed and image id. */
export const DEFAULT_SPLIT: SplitSpec = { seed: 1, valFraction: 0.1, testFraction: 0.1 };

export interface OpenDatasetOptions {
  readonly format?: DatasetFormat | 'auto';
  readonly imagesDir?: string;
  /** Applied only when the dataset has no splits of its own. */
  readonly split?: SplitSpec;
  readonly keepDuplicateCaptions?: boolean;
}

/** Reads a dataset and gives every captioned image a split (its own, or the seeded `split`). */
export async function openDataset(target: string, opts: OpenDatasetOptions = {}): Promise<Dataset> {
  const dataset = await loadDataset(target, {
    ...(opts.format ? { format: opts.format } : {}),
    ...(opts.imagesDir ? { imagesDir: opts.imagesDir } : {}),
    ...(opts.keepDuplicateCaptions ? { keepDuplicateCaptions: true } : {}),
  });
  return assignSplits(dataset, opts.split ?? DEFAULT_SPLIT);
}

/** Captioned items of a split ('train' also takes items without a split). */
export function itemsOf(dataset: Dataset, split: 'train' | 'val' | 'test' | 'all'): DatasetItem[] {
  return dataset.items.filter(
    (item) => item.captions.length > 0 && (split === 'all' || item.split === split || (split === 'train' && item.split === undefined)),
  );
}

export interface FeatureOptions {
  readonly cacheDir?: string;
  readonly signal?: AbortSignal;
  readonly checkpoint?: () => void | Promise<void>;
  readonly onProgress?: ProgressListener;
  /** Told once when the feature cache cannot be written. */
  readonly onWarning?: (message: string) => void;
}

/** A run's feature options: its cache folder and cancel signal, its pause point and its progress/warning events. */
export function featureOptionsOf(
  run: { readonly cacheDir?: string; readonly signal?: AbortSignal },
  events: { readonly pausePoint?: () => void; readonly onProgress?: ProgressListener; readonly onWarning?: (message: string) => void },
): FeatureOptions {
  return {
    ...(run.cacheDir ? { cacheDir: run.cacheDir } : {}),
    ...(run.signal ? { signal: run.signal } : {}),
    ...(events.pausePoint ? { checkpoint: events.pausePoint } : {}),
    ...(events.onProgress ? { onProgress: events.onProgress } : {}),
    ...(events.onWarning ? { onWarning: events.onWarning } : {}),
  };
}

/** An item with its image feature. */
export interface FeaturedItem {
  readonly item: DatasetItem;
  readonly features: Float32Array;
}

/** Features of the items' images (cached on disk); unreadable images go to `failures`. */
export async function featuresOf(
  items: readonly DatasetItem[],
  encoder: FeatureEncoder,
  opts: FeatureOptions = {},
): Promise<{ featured: FeaturedItem[]; failures: { path: string; error: string }[] }> {
  const results = await extractFeatures(
    items.map((item) => item.imagePath),
    encoder,
    {
      ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.checkpoint ? { checkpoint: opts.checkpoint } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
    },
  );
  const featured: FeaturedItem[] = [];
  const failures: { path: string; error: string }[] = [];
  results.forEach((r, i) => {
    if (r.ok) featured.push({ item: items[i]!, features: r.features });
    else failures.push({ path: r.path, error: r.error });
  });
  return { featured, failures };
}

/** Featured items as trainer input (captions tokenised), named by their image file (sample captions show it). */
export function toTrainImages(featured: readonly FeaturedItem[]): TrainImage[] {
  return featured.map(({ item, features }) => ({ id: item.imagePath, features, captions: item.captions.map((c) => tokenize(c)) }));
}

/** Trainer input for a dataset: its train and val splits with features from `encoder`. */
export async function prepareTrainData(
  dataset: Dataset,
  encoder: FeatureEncoder,
  opts: FeatureOptions = {},
): Promise<{ data: TrainData; failures: { path: string; error: string }[] }> {
  const train = itemsOf(dataset, 'train');
  const val = itemsOf(dataset, 'val');
  const { featured, failures } = await featuresOf([...train, ...val], encoder, opts);
  const valSet = new Set(val);
  return {
    data: {
      encoderId: encoder.id,
      featureDim: encoder.featureDim,
      train: toTrainImages(featured.filter((f) => !valSet.has(f.item))),
      val: toTrainImages(featured.filter((f) => valSet.has(f.item))),
    },
    failures,
  };
}
