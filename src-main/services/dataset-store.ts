/**
 * The datasets open in this session: read with `data/dataset.loadDataset` (any format the CLI reads) together with
 * the marks of its machine-written captions, handed to the UI in parts (the first screenful with `dataset.open`,
 * the rest with `dataset.items`; the UI filters and virtualises), and saved back with `saveDataset` in the
 * dataset's own format, atomically, updating the copy held here in memory (no re-read). Opening a dataset grants
 * the UI access to its images' folders.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { DatasetSource } from '../contract/schemas.ts';
import type { DatasetItemView, DatasetSaved, DatasetStatsView, DatasetView } from '../contract/types.ts';
import { datasetStats, formatProblem, loadDataset, saveDataset, wordFrequencies, type Dataset } from '../data/dataset.ts';
import { DEFAULT_TRAIN_CONFIG } from '../engine/train-config.ts';
import { notFound } from '../contract/errors.ts';
import { liveMarks, readMachineMarks, writeMachineMarks, type MachineMarks } from '../data/machine-captions.ts';
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
/** Items sent with `dataset.open`: more than a screenful of the grid, small enough to show at once. */
export const FIRST_ITEMS = 1000;

interface OpenDataset {
  dataset: Dataset;
  /** Machine-written captions nobody accepted yet, by image id. */
  marks: MachineMarks;
}

function itemView(item: Dataset['items'][number], marks: MachineMarks): DatasetItemView {
  const machine = marks.get(item.id);
  return { id: item.id, imagePath: item.imagePath, captions: item.captions, ...(item.split ? { split: item.split } : {}), ...(machine?.length ? { machine } : {}) };
}

function sameMarks(a: MachineMarks, b: MachineMarks): boolean {
  if (a.size !== b.size) return false;
  for (const [id, list] of a) {
    const other = b.get(id);
    if (!other || other.length !== list.length || list.some((c, i) => c !== other[i])) return false;
  }
  return true;
}

export class DatasetStore {
  private readonly open = new Map<string, OpenDataset>();

  constructor(private readonly media: MediaAccess) {}

  /** Reads a dataset and returns its view; the same dataset opened twice gets two ids. */
  async openDataset(source: DatasetSource): Promise<DatasetView> {
    const dataset = await loadDataset(path.resolve(source.path), {
      ...(source.format ? { format: source.format } : {}),
      ...(source.imagesDir ? { imagesDir: path.resolve(source.imagesDir) } : {}),
      includeMachineCaptions: true,
    });
    const marks = liveMarks(dataset.items, await readMachineMarks(dataset));
    const datasetId = randomUUID();
    this.open.set(datasetId, { dataset, marks });
    await this.grant(dataset);
    return this.view(datasetId, dataset, marks);
  }

  private entry(datasetId: string): OpenDataset {
    const entry = this.open.get(datasetId);
    if (!entry) throw notFound(`no open dataset with id ${datasetId} (it was closed, or the app restarted)`);
    return entry;
  }

  /** The dataset behind an id, machine-written captions included (throws not-found). */
  get(datasetId: string): Dataset {
    return this.entry(datasetId).dataset;
  }

  /** Items `offset` … `offset + limit - 1` of an open dataset, as the UI shows them. */
  items(datasetId: string, offset: number, limit: number): DatasetItemView[] {
    const { dataset, marks } = this.entry(datasetId);
    return dataset.items.slice(offset, offset + limit).map((item) => itemView(item, marks));
  }

  /**
   * Writes caption edits back to the dataset's files, and the machine-written marks of the images named in
   * `machine` (into the marks file beside the dataset); the store then holds the dataset as edited.
   */
  async save(datasetId: string, changes: readonly { id: string; captions: readonly string[] }[], machine: readonly { id: string; captions: readonly string[] }[] = []): Promise<DatasetSaved> {
    const entry = this.entry(datasetId);
    const saved = changes.length ? await saveDataset(entry.dataset, changes) : entry.dataset;
    entry.dataset = saved;
    const touched = new Set([...changes.map((c) => c.id), ...machine.map((m) => m.id)]);
    if (touched.size) {
      // The touched images' marks: as sent, else as they were; kept only while they name one of the image's captions.
      const wanted: MachineMarks = new Map([...touched].map((id) => [id, entry.marks.get(id) ?? []]));
      for (const m of machine) wanted.set(m.id, m.captions);
      const marks = new Map(entry.marks);
      for (const id of touched) marks.delete(id);
      for (const [id, live] of liveMarks(saved.items.filter((item) => touched.has(item.id)), wanted)) marks.set(id, live);
      if (!sameMarks(marks, entry.marks)) await writeMachineMarks(saved, marks);
      entry.marks = marks;
    }
    return { path: saved.source, format: saved.format, changed: touched.size, stats: statsView(saved) };
  }

  close(datasetId: string): boolean {
    return this.open.delete(datasetId);
  }

  private async grant(dataset: Dataset): Promise<void> {
    const folders = new Set<string>();
    for (const item of dataset.items) folders.add(path.dirname(item.imagePath));
    await Promise.all([...folders].map((dir) => this.media.allow(dir)));
  }

  private view(datasetId: string, dataset: Dataset, marks: MachineMarks): DatasetView {
    const problems = dataset.problems.slice(0, MAX_PROBLEMS).map((p) => formatProblem(p, { short: true }));
    return {
      datasetId,
      path: dataset.source,
      name: path.basename(dataset.source),
      format: dataset.format,
      items: dataset.items.slice(0, FIRST_ITEMS).map((item) => itemView(item, marks)),
      total: dataset.items.length,
      problems,
      problemCount: dataset.problems.length,
      stats: statsView(dataset),
    };
  }
}
