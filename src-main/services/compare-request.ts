/**
 * A `compare.start` request turned into the study job's parameters: the settings every run shares, the seeded
 * split, and the study's folder, named after the study so that asking for the same study again resumes it.
 */
import path from 'node:path';
import type { CompareRequest } from '../contract/schemas.ts';
import type { CompareJobParams } from '../jobs/job-types.ts';
import { slugify } from './model-store.ts';

export interface StudyPlace {
  /** The folder that holds every study (`<data>/studies`). */
  readonly studiesDir: string;
  readonly cacheDir: string;
  /** Where the best run's model is installed. */
  readonly model: { readonly id: string; readonly dir: string };
  readonly workers?: number;
}

/** The study folder of a study name. */
export function studyDirOf(studiesDir: string, name: string): string {
  return path.join(studiesDir, slugify(name));
}

export function compareParamsOf(req: CompareRequest, place: StudyPlace): CompareJobParams {
  return {
    dataset: { path: path.resolve(req.dataset.path), ...(req.dataset.format ? { format: req.dataset.format } : {}), ...(req.dataset.imagesDir ? { imagesDir: path.resolve(req.dataset.imagesDir) } : {}) },
    name: req.name,
    schedules: req.schedules,
    seeds: req.seeds,
    config: {
      epochs: req.epochs,
      ...(req.batchSize !== undefined ? { batchSize: req.batchSize } : {}),
      ...(req.hiddenDim !== undefined ? { hiddenDim: req.hiddenDim } : {}),
      ...(req.embedDim !== undefined ? { embedDim: req.embedDim } : {}),
      ...(req.learningRate !== undefined ? { learningRate: { lr: req.learningRate } } : {}),
      ...(req.minCount !== undefined ? { minWordCount: req.minCount } : {}),
    },
    split: {
      ...(req.valFraction !== undefined ? { valFraction: req.valFraction } : {}),
      ...(req.testFraction !== undefined ? { testFraction: req.testFraction } : {}),
    },
    studyDir: studyDirOf(place.studiesDir, req.name),
    modelId: place.model.id,
    modelDir: place.model.dir,
    cacheDir: place.cacheDir,
    ...(place.workers !== undefined ? { workers: place.workers } : {}),
  };
}
