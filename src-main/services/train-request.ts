/**
 * The Train view's requests turned into the use cases' options: a `train.start` payload into the training
 * settings and split of `trainModel`, and the datasets `train.plan` reads (kept while unchanged on disk, since the
 * view asks again at every change of the form).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { DatasetSource, TrainRequest } from '../contract/schemas.ts';
import { loadDataset } from '../data/dataset.ts';
import type { Dataset, SplitSpec } from '../data/dataset-types.ts';
import type { TrainConfigInput } from '../engine/train-config.ts';

/** The training settings and split a `train.start` request asks for (left out: the shared defaults). */
export function trainSettingsOf(req: TrainRequest): { config: TrainConfigInput; split: Partial<SplitSpec> } {
  return {
    config: {
      epochs: req.epochs,
      batchSize: req.batchSize,
      hiddenDim: req.hiddenDim,
      ...(req.embedDim !== undefined ? { embedDim: req.embedDim } : {}),
      ...(req.learningRate !== undefined ? { learningRate: { lr: req.learningRate } } : {}),
      ...(req.minCount !== undefined ? { minWordCount: req.minCount } : {}),
      ...(req.patience !== undefined ? { patience: req.patience } : {}),
      ...(req.seed !== undefined ? { seed: req.seed } : {}),
      schedule: req.schedule,
    },
    split: {
      ...(req.seed !== undefined ? { seed: req.seed } : {}),
      ...(req.valFraction !== undefined ? { valFraction: req.valFraction } : {}),
      ...(req.testFraction !== undefined ? { testFraction: req.testFraction } : {}),
    },
  };
}

/** The last dataset read for planning, keyed by its source and its modification time. */
export class PlannedDatasets {
  private last: { key: string; dataset: Promise<Dataset> } | null = null;

  async get(source: DatasetSource): Promise<Dataset> {
    const target = path.resolve(source.path);
    const mtime = (await stat(target).catch(() => null))?.mtimeMs ?? 0;
    const key = JSON.stringify([target, source.format ?? 'auto', source.imagesDir ?? '', mtime]);
    if (this.last?.key !== key) {
      const dataset = loadDataset(target, {
        ...(source.format ? { format: source.format } : {}),
        ...(source.imagesDir ? { imagesDir: path.resolve(source.imagesDir) } : {}),
      });
      this.last = { key, dataset };
      dataset.catch(() => {
        if (this.last?.dataset === dataset) this.last = null;
      });
    }
    return this.last.dataset;
  }
}
