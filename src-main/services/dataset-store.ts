/**
 * The datasets open in this session: read with `data/dataset.loadDataset` (any format the CLI reads), handed to
 * the UI whole (it filters and virtualises), and saved back with `saveDataset` in the dataset's own format,
 * atomically. Opening a dataset grants the UI access to its images' folders.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { DatasetSource } from '../contract/schemas.ts';
import type { DatasetSaved, DatasetStatsView, DatasetView } from '../contract/types.ts';
import { datasetStats, formatProblem, loadDataset, saveDataset, wordFrequencies, type Dataset } from '../data/dataset.ts';
import { DEFAULT_TRAIN_CONFIG } from '../engine/train-config.ts';
import { notFound } from '../contract/errors.ts';
import type { MediaAccess } from './media-access.ts';

/** The UI's view of `datasetStats`. */
export function statsView(dataset: Dataset): DatasetStatsView {
  const s = datasetStats(dataset, { minWordCount: DEFAULT_TRAIN_CONFIG.minWordCount });
  const splits: Record<string, number> = {};
  for (const [name, count] of Object.entries(s.splits)) if (count > 0) splits[name] = count;
  return {
    images: s.images,
    captions: s.captions,
    vocabulary: s.vocabularySize,
    minWordCount: s.minWordCount,
    words: s.words,
    meanLength: s.length.mean,
    lengthHistogram: s.lengthHistogram,
    splits,
    wordCounts: wordFrequencies(dataset),
  };
}

/** At most this many problem lines travel to the UI; `problemCount` gives the total. */
const MAX_PROBLEMS = 200;

export class DatasetStore {
  private readonly open = new Map<string, Dataset>();

  constructor(private readonly media: MediaAccess) {}

  /** Reads a dataset and returns its view; the same dataset opened twice gets two ids. */
  async openDataset(source: DatasetSource): Promise<DatasetView> {
    const dataset = await loadDataset(path.resolve(source.path), {
      ...(source.format ? { format: source.format } : {}),
      ...(source.imagesDir ? { imagesDir: path.resolve(source.imagesDir) } : {}),
    });
    const datasetId = randomUUID();
    this.open.set(datasetId, dataset);
    await this.grant(dataset);
    return this.view(datasetId, dataset);
  }

  /** The dataset behind an id (throws not-found). */
  get(datasetId: string): Dataset {
    const dataset = this.open.get(datasetId);
    if (!dataset) throw notFound(`no open dataset with id ${datasetId} (it was closed, or the app restarted)`);
    return dataset;
  }

  /** Writes caption edits back to the dataset's files; the store then holds the dataset as re-read. */
  async save(datasetId: string, changes: readonly { id: string; captions: readonly string[] }[]): Promise<DatasetSaved> {
    const dataset = this.get(datasetId);
    const saved = await saveDataset(dataset, changes);
    this.open.set(datasetId, saved);
    return { path: saved.source, format: saved.format, changed: changes.length, stats: statsView(saved) };
  }

  close(datasetId: string): boolean {
    return this.open.delete(datasetId);
  }

  private async grant(dataset: Dataset): Promise<void> {
    const folders = new Set<string>();
    for (const item of dataset.items) folders.add(path.dirname(item.imagePath));
    await Promise.all([...folders].map((dir) => this.media.allow(dir)));
  }

  private view(datasetId: string, dataset: Dataset): DatasetView {
    const problems = dataset.problems.slice(0, MAX_PROBLEMS).map((p) => formatProblem(p, { short: true }));
    return {
      datasetId,
      path: dataset.source,
      name: path.basename(dataset.source),
      format: dataset.format,
      items: dataset.items.map((item) => ({
        id: item.id,
        imagePath: item.imagePath,
        captions: item.captions,
        ...(item.split ? { split: item.split } : {}),
      })),
      problems,
      problemCount: dataset.problems.length,
      stats: statsView(dataset),
    };
  }
}
