/**
 * Datasets as a whole: load any supported format (auto-detected), save caption edits back in the dataset's own
 * format, give a dataset a reproducible seeded split, and describe it with statistics.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { tokenize } from '../text/tokenize.ts';
import type { CaptionEdit, Dataset, DatasetFormat, DatasetItem, DatasetProblem, ReadOptions, Split, SplitSpec } from './dataset-types.ts';
import { cleanEditedCaptions } from './formats/common.ts';
import { readCoco, saveCoco } from './formats/coco.ts';
import { readCsv, saveCsv } from './formats/csv.ts';
import { detectFormat } from './formats/detect.ts';
import { readFlickr8k, saveFlickr8k } from './formats/flickr8k.ts';
import { readKarpathy, saveKarpathy } from './formats/karpathy.ts';
import { readSidecar, saveSidecar } from './formats/sidecar.ts';
import { readMachineMarks, withoutMachineCaptions } from './machine-captions.ts';

export type * from './dataset-types.ts';

/** A problem as one line: `path:line: reason` (only the file name with `short`, for the UI). */
export function formatProblem(p: DatasetProblem, opts: { short?: boolean } = {}): string {
  return `${opts.short ? path.basename(p.path) : p.path}${p.line === undefined ? '' : `:${p.line}`}: ${p.reason}`;
}

/** Options for `loadDataset`. */
export interface LoadDatasetOptions {
  /** Read as this format instead of guessing ('auto' = guess). */
  readonly format?: DatasetFormat | 'auto';
  /** Where the images are, when not where the format looks by default. */
  readonly imagesDir?: string;
  /** Keep exact-duplicate captions (see `ReadOptions`); for evaluating against published figures. */
  readonly keepDuplicateCaptions?: boolean;
  /**
   * Keep the captions a model wrote that nobody accepted yet (see machine-captions.ts). Default false: training,
   * evaluation, stats and convert see only the human references; the dataset editor asks for them.
   */
  readonly includeMachineCaptions?: boolean;
}

/**
 * Reads a dataset file or folder, without its unaccepted machine-written captions unless asked. Entries that cannot be used (missing images, empty or duplicate captions,
 * invalid rows) are listed in `problems`; a file that cannot be parsed at all throws a one-line Error.
 */
export async function loadDataset(target: string, opts: LoadDatasetOptions = {}): Promise<Dataset> {
  const dataset = await readAnyFormat(target, opts);
  return opts.includeMachineCaptions ? dataset : withoutMachineCaptions(dataset, await readMachineMarks(dataset));
}

async function readAnyFormat(target: string, opts: LoadDatasetOptions): Promise<Dataset> {
  const { format, path, otherSources } = await detectFormat(target, opts.format === 'auto' ? undefined : opts.format);
  if (format === 'sidecar' && otherSources?.length) {
    const dataset = await readSidecar(path, readOptions(opts));
    const notes = otherSources.map((file): DatasetProblem => ({
      kind: 'other-source',
      path: file,
      reason: 'another caption source in this folder, not read: the images\' sidecar caption files were preferred (open that file itself to read it)',
    }));
    return { ...dataset, problems: [...notes, ...dataset.problems] };
  }
  switch (format) {
    case 'sidecar':
      return readSidecar(path, readOptions(opts));
    case 'csv':
      return readCsv(path, readOptions(opts));
    case 'coco':
      return readCoco(path, readOptions(opts));
    case 'karpathy':
      return readKarpathy(path, readOptions(opts));
    case 'flickr8k':
      return readFlickr8k(path, readOptions(opts));
  }
}

function readOptions(opts: LoadDatasetOptions): ReadOptions {
  return {
    ...(opts.imagesDir === undefined ? {} : { imagesDir: opts.imagesDir }),
    ...(opts.keepDuplicateCaptions ? { keepDuplicateCaptions: true } : {}),
  };
}

/**
 * Writes caption edits back to where the dataset came from, in its own format, atomically, keeping everything
 * else in the files as it was. Each edit gives the complete new caption list of one item (line breaks and tabs in
 * a caption become spaces; empty and repeated captions are dropped). Refuses (one-line Error) when an id is
 * unknown or when the item's captions on disk changed since `dataset` was loaded. Returns the dataset with the
 * edits applied in memory (nothing else is read again: a save costs what it changes).
 */
export async function saveDataset(dataset: Dataset, edits: readonly CaptionEdit[]): Promise<Dataset> {
  switch (dataset.format) {
    case 'sidecar':
      await saveSidecar(dataset, edits);
      break;
    case 'csv':
      await saveCsv(dataset, edits);
      break;
    case 'coco':
      await saveCoco(dataset, edits);
      break;
    case 'karpathy':
      await saveKarpathy(dataset, edits);
      break;
    case 'flickr8k':
      await saveFlickr8k(dataset, edits);
      break;
  }
  return withEdits(dataset, edits);
}

/** The dataset with each edited item's captions replaced by the edit, cleaned as the writers clean it. */
function withEdits(dataset: Dataset, edits: readonly CaptionEdit[]): Dataset {
  const next = new Map(edits.map((e) => [e.id, cleanEditedCaptions(e.captions, dataset.keepDuplicateCaptions === true)]));
  let captionedChanged = false;
  const items = dataset.items.map((item): DatasetItem => {
    const captions = next.get(item.id);
    if (captions === undefined) return item;
    if ((captions.length > 0) !== (item.captions.length > 0)) captionedChanged = true;
    return { ...item, captions };
  });
  const edited = { ...dataset, items };
  // A seeded split covers the captioned images: it is drawn again when that set changed (same seed and fractions).
  return dataset.splits.kind === 'seeded' && captionedChanged ? assignSplits(edited, { ...dataset.splits, force: true }) : edited;
}

/** Options for `assignSplits`: the split settings, and whether to replace a split the dataset has. */
export interface AssignSplitsOptions extends SplitSpec {
  /** Replace the dataset's own split too (default false: a dataset with its own split keeps it). */
  readonly force?: boolean;
}

/**
 * Gives every captioned image a split, deterministically from (seed, item id): items are ordered by
 * sha256(`seed:id`) and the first round(n·testFraction) go to test, the next round(n·valFraction) to val, the rest
 * to train (a non-zero fraction gets at least one image while at least one is left for training). The result
 * depends only on the seed, the fractions and the set of ids — not on their order, the machine or the format —
 * so it can be recorded in a model and reproduced. Uncaptioned images get no split. A dataset that has its own
 * split is returned unchanged unless `force`.
 */
export function assignSplits(dataset: Dataset, opts: AssignSplitsOptions): Dataset {
  const { seed, valFraction, testFraction } = opts;
  if (!(valFraction >= 0 && testFraction >= 0 && valFraction + testFraction < 1)) {
    throw new Error(`assignSplits: fractions must be ≥ 0 and sum to less than 1 (val ${valFraction}, test ${testFraction})`);
  }
  if (!Number.isInteger(seed)) throw new Error(`assignSplits: seed must be an integer, got ${seed}`);
  if (dataset.splits.kind === 'dataset' && !opts.force) return dataset;
  const captioned = dataset.items.filter((item) => item.captions.length > 0);
  const keyed = captioned.map((item) => ({ id: item.id, key: createHash('sha256').update(`${seed}:${item.id}`).digest('hex') }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const n = keyed.length;
  const count = (fraction: number, room: number): number => (fraction > 0 && room > 1 ? Math.min(room - 1, Math.max(1, Math.round(n * fraction))) : 0);
  const nTest = count(testFraction, n);
  const nVal = count(valFraction, n - nTest);
  const splitOf = new Map<string, Split>();
  keyed.forEach(({ id }, i) => splitOf.set(id, i < nTest ? 'test' : i < nTest + nVal ? 'val' : 'train'));
  const items = dataset.items.map((item): DatasetItem => {
    const split = splitOf.get(item.id);
    const { split: _old, ...rest } = item;
    return split === undefined ? rest : { ...rest, split };
  });
  return { ...dataset, items, splits: { kind: 'seeded', seed, valFraction, testFraction } };
}

/** The items of one split ('all' = every item). */
export function itemsInSplit(dataset: Dataset, split: Split | 'all'): DatasetItem[] {
  return split === 'all' ? [...dataset.items] : dataset.items.filter((item) => item.split === split);
}

/** What `datasetStats` reports. Lengths are in tokens of the shared tokenizer (`engine/tokenize.ts`). */
export interface DatasetStats {
  readonly images: number;
  readonly captions: number;
  readonly imagesWithoutCaptions: number;
  /** Images named by the dataset whose file does not exist (they are not among `images`). */
  readonly missingImageFiles: number;
  /** Entries skipped or repaired, by problem kind. */
  readonly problems: Readonly<Record<string, number>>;
  /** Distinct words over all captions. */
  readonly words: number;
  /** Distinct words seen at least `minWordCount` times: the vocabulary a model trained on it gets (+ 4 special tokens). */
  readonly vocabularySize: number;
  readonly minWordCount: number;
  /** Caption length in tokens: nearest-rank percentiles, maximum and mean (all 0 without captions). */
  readonly length: { readonly p5: number; readonly p50: number; readonly p95: number; readonly max: number; readonly mean: number };
  /** Number of captions of each length in tokens, index = length. */
  readonly lengthHistogram: readonly number[];
  /** Images per split ('none' = without a split). */
  readonly splits: Readonly<Record<Split | 'none', number>>;
}

/** Nearest-rank percentile of ascending-sorted values (0 for none). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Every word of the dataset's captions (shared tokenizer) with its count, most frequent first, ties by word. */
export function wordFrequencies(dataset: Dataset): [string, number][] {
  const counts = new Map<string, number>();
  for (const item of dataset.items) for (const caption of item.captions) for (const token of tokenize(caption)) counts.set(token, (counts.get(token) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** Counts and caption-length figures for a dataset (see `DatasetStats`). */
export function datasetStats(dataset: Dataset, opts: { minWordCount?: number } = {}): DatasetStats {
  const minWordCount = opts.minWordCount ?? 1;
  const counts = new Map<string, number>();
  const lengths: number[] = [];
  const splits: Record<Split | 'none', number> = { train: 0, val: 0, test: 0, none: 0 };
  let imagesWithoutCaptions = 0;
  for (const item of dataset.items) {
    splits[item.split ?? 'none']++;
    if (item.captions.length === 0) imagesWithoutCaptions++;
    for (const caption of item.captions) {
      const tokens = tokenize(caption);
      lengths.push(tokens.length);
      for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
    }
  }
  lengths.sort((a, b) => a - b);
  const max = lengths.at(-1) ?? 0;
  const lengthHistogram = new Array<number>(max + 1).fill(0);
  for (const length of lengths) lengthHistogram[length]!++;
  const problems: Record<string, number> = {};
  for (const problem of dataset.problems) problems[problem.kind] = (problems[problem.kind] ?? 0) + 1;
  let vocabularySize = 0;
  for (const count of counts.values()) if (count >= minWordCount) vocabularySize++;
  return {
    images: dataset.items.length,
    captions: lengths.length,
    imagesWithoutCaptions,
    missingImageFiles: problems['missing-image'] ?? 0,
    problems,
    words: counts.size,
    vocabularySize,
    minWordCount,
    length: {
      p5: percentile(lengths, 5),
      p50: percentile(lengths, 50),
      p95: percentile(lengths, 95),
      max,
      mean: lengths.length === 0 ? 0 : lengths.reduce((a, b) => a + b, 0) / lengths.length,
    },
    lengthHistogram,
    splits,
  };
}
