/**
 * The "unit meanings" use case: a dataset's images through the feature cache, its captions teacher-forced through
 * the model (engine/explain-units.ts), the result saved beside the model as `unit-words.json` for the app's
 * explain panel. The CLI's `units` renders what this returns.
 */
import path from 'node:path';
import type { DatasetFormat } from '../data/dataset-types.ts';
import type { CaptionModel } from '../engine/caption-model.ts';
import type { ImageEncoder } from '../engine/encoder.ts';
import { saveUnitMeanings, unitMeanings, type UnitMeanings } from '../engine/explain-units.ts';
import { tokenize } from '../text/tokenize.ts';
import type { ProgressListener } from '../util/progress.ts';
import { featuresOf, itemsOf, openDataset } from './training-data.ts';

export interface UnitMeaningsOptions {
  readonly modelDir: string;
  readonly dataset: { readonly path: string; readonly format?: DatasetFormat | 'auto'; readonly imagesDir?: string };
  readonly top?: number;
  readonly minCount?: number;
  /** Save `unit-words.json` in the model folder (default true). */
  readonly save?: boolean;
  readonly cacheDir?: string;
  readonly load: () => Promise<{ readonly model: CaptionModel; readonly encoder: ImageEncoder }>;
  readonly onProgress?: ProgressListener;
  readonly onWarning?: (message: string) => void;
  readonly onUnreadable?: (failures: readonly { path: string; error: string }[]) => void;
}

/** Computes (and by default saves) the unit meanings of a model over every captioned image of a dataset. */
export async function computeUnitMeanings(opts: UnitMeaningsOptions): Promise<{ meanings: UnitMeanings; savedTo: string | null }> {
  const dataset = await openDataset(opts.dataset.path, {
    ...(opts.dataset.format ? { format: opts.dataset.format } : {}),
    ...(opts.dataset.imagesDir ? { imagesDir: opts.dataset.imagesDir } : {}),
  });
  const items = itemsOf(dataset, 'all').filter((i) => i.captions.length > 0);
  if (items.length === 0) throw new Error(`${dataset.source}: no captioned images`);
  const { model, encoder } = await opts.load();
  const { featured, failures } = await featuresOf(items, encoder, {
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
  });
  if (failures.length) opts.onUnreadable?.(failures);
  if (featured.length === 0) throw new Error(`${dataset.source}: none of the ${items.length} images could be read`);
  const meanings = unitMeanings(
    model,
    featured.map((f) => ({ features: f.features, captions: f.item.captions.map(tokenize) })),
    { encoderId: encoder.id, source: path.resolve(dataset.source), ...(opts.top ? { top: opts.top } : {}), ...(opts.minCount ? { minCount: opts.minCount } : {}) },
  );
  const savedTo = opts.save === false ? null : await saveUnitMeanings(opts.modelDir, meanings);
  return { meanings, savedTo };
}
