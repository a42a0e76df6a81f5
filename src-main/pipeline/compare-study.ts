/**
 * The "compare scheduled-sampling schedules" use case, the one both front ends run (the CLI's `compare`, the app's
 * study job): one model per schedule × seed with everything else equal — the same split, the same training data
 * and so the same vocabulary, the same settings and epochs (no early stopping), and per seed the same
 * initialisation and batch order (both come from the run's seed, whatever the schedule). Each run's kept epoch (best
 * validation CIDEr-D) is scored on the held-out test images; the table gives mean ± sd over seeds per schedule.
 *
 * A study lives in one folder:
 *   study.json           the settings every run shares (a later call with other settings is refused rather than
 *                        mixed in; other schedules or seeds are welcome: a study can be extended, or part of it tabled)
 *   runs/<id>/           the run's training folder (checkpoints `latest/`, best epoch `best/`)
 *   runs/<id>/result.json  written once the run is trained and scored: a resumed study skips it
 *   compare.csv, compare.json, compare.png   the table, everything, and the validation CIDEr-D chart
 *   best-model/          the run with the best validation CIDEr-D, as a model bundle
 * Killed, it resumes: finished runs are read back, an unfinished one continues from its last checkpoint (training
 * resumes exactly, so the table equals an uninterrupted study's).
 *
 * Test images: the dataset's own test split; when it has its own train/val but no test (UCM-Captions), its val
 * split is the test set and a seeded share of train validates; with no split of its own, a seeded split.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { assignSplits } from '../data/dataset.ts';
import type { Dataset, SplitSpec } from '../data/dataset-types.ts';
import type { FeatureEncoder } from '../data/feature-cache.ts';
import { copyBundle } from '../engine/bundle.ts';
import { disposeCaptionModel } from '../engine/caption-model.ts';
import { CHECKPOINT_FILE, readCheckpointMeta } from '../engine/checkpoint.ts';
import { SCHEDULE_PRESETS, EPSILON_SCHEDULE_TYPES, type EpsilonScheduleType } from '../engine/schedules.ts';
import { recoverRun, runPaths, train, type EpochEvent, type TrainData } from '../engine/train.ts';
import type { EpochRecord } from '../engine/train-history.ts';
import { resolveTrainConfig, type TrainConfig, type TrainConfigInput } from '../engine/train-config.ts';
import { pathExists } from '../util/path-exists.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { chartPng, type ChartSeries } from './compare-chart.ts';
import { scheduleRows, tableCsv, type RunEpoch, type RunResult, type ScheduleRow } from './compare-table.ts';
import { evaluateModel } from './evaluate.ts';
import { splitProvenance } from './model-split.ts';
import type { DatasetSourceOptions, TrainModelEvents } from './train-model.ts';
import { DEFAULT_SPLIT, featureOptionsOf, featuresOf, itemsOf, openDataset, toTrainImages, type FeaturedItem } from './training-data.ts';

/** How test captions are decoded: `eval`'s defaults (beam 3, no repeated bigram). */
export const TEST_DECODING = { beamSize: 3, blockRepeatedNgram: 2 } as const;

export interface CompareOptions {
  readonly dataset: DatasetSourceOptions;
  /** The schedules to compare (their parameters are SCHEDULE_PRESETS'), in table order. */
  readonly schedules: readonly EpsilonScheduleType[];
  /** Runs per schedule; run k (0-based) trains with seed `firstSeed + k`. */
  readonly seeds: number;
  readonly firstSeed?: number;
  /** Settings every run shares; `schedule` and `seed` are set per run, `patience` is 0 (every run trains all epochs). */
  readonly config: TrainConfigInput;
  /** The seeded split (used when the dataset brings none); default DEFAULT_SPLIT. */
  readonly split?: Partial<SplitSpec>;
  /** The study's folder (see the module comment). */
  readonly outDir: string;
  /** The image encoder (its id is recorded; features must all come from it). */
  readonly encoder: FeatureEncoder;
  /** Computes the features of uncached images instead of `encoder` (e.g. a pool of encoder threads with its id). */
  readonly featureEncoder?: FeatureEncoder;
  readonly cacheDir?: string;
  readonly signal?: AbortSignal;
  readonly workers?: number;
  /** Names the study in the chart's title and the best model's name. */
  readonly name?: string;
  /** Extra provenance for the models (e.g. the command line). */
  readonly provenance?: { readonly [key: string]: string };
  readonly backend?: string;
}

/** One run of the study, as events name it. */
export interface RunRef {
  readonly id: string;
  readonly schedule: EpsilonScheduleType;
  readonly seed: number;
  /** 0-based position in the study, and the number of runs. */
  readonly index: number;
  readonly total: number;
}

/** The dataset and feature events of a training run (train-model.ts), then the study's own. */
export interface CompareEvents extends Pick<TrainModelEvents, 'onDatasetProblems' | 'onProgress' | 'pausePoint' | 'onWarning' | 'onUnreadable'> {
  readonly onStart?: (info: { train: number; val: number; test: number; source: string; split: string; runs: readonly RunRef[] }) => void;
  /** A run starts: afresh, or from its checkpoint (`resumed`, with the epochs that checkpoint holds). */
  readonly onRunStart?: (run: RunRef & { readonly resumed: boolean; readonly epochsBefore: readonly RunEpoch[] }) => void;
  readonly onEpoch?: (run: RunRef, epoch: EpochEvent) => void;
  /** A run is trained and scored, now or (`skipped`) by an earlier call. */
  readonly onRunDone?: (run: RunRef, result: RunResult, skipped: boolean) => void;
}

export interface CompareResult {
  readonly outDir: string;
  readonly rows: readonly ScheduleRow[];
  readonly runs: readonly RunResult[];
  /** The run whose model was kept (best validation CIDEr-D), and where it is. */
  readonly best: { readonly id: string; readonly schedule: EpsilonScheduleType; readonly seed: number; readonly valCiderD: number | null; readonly modelDir: string };
  readonly files: { readonly csv: string; readonly json: string; readonly png: string };
  readonly split: string;
  readonly testImages: number;
  /** Runs trained by this call (the others were finished before). */
  readonly trained: number;
}

export const STUDY_FILE = 'study.json';
export const RESULT_FILE = 'result.json';
export const BEST_MODEL_DIR = 'best-model';

/** The run id of a schedule and seed, which names its folder. */
export function runId(schedule: EpsilonScheduleType, seed: number): string {
  return `${schedule}-seed${seed}`;
}

const scheduleTypeSchema = z.enum(EPSILON_SCHEDULE_TYPES);

const runResultSchema: z.ZodType<RunResult> = z.object({
  id: z.string(),
  schedule: scheduleTypeSchema,
  seed: z.number().int(),
  epochs: z.array(
    z.object({
      epoch: z.number().int(),
      trainLoss: z.number(),
      valLoss: z.number().nullable(),
      valBleu4: z.number().nullable(),
      valCiderD: z.number().nullable(),
      epsilon: z.number(),
    }),
  ),
  bestEpoch: z.number().int(),
  bestValCiderD: z.number().nullable(),
  test: z.object({ bleu1: z.number(), bleu2: z.number(), bleu3: z.number(), bleu4: z.number(), rougeL: z.number(), ciderD: z.number() }),
  testImages: z.number().int(),
  trainSeconds: z.number(),
});

/**
 * The settings every run of a study folder shares; a later call must ask for the same. Schedules and seeds may
 * differ: runs are kept per schedule and seed, so a study can be extended, or a part of it tabled.
 */
interface StudySpec {
  readonly dataset: string;
  readonly config: Omit<TrainConfig, 'schedule' | 'seed'>;
  readonly split: string;
  readonly encoderId: string;
}

/** The data of a study: train/val features for the trainer, test features for scoring, and how they were split. */
interface StudyData {
  readonly dataset: Dataset;
  readonly train: readonly FeaturedItem[];
  readonly val: readonly FeaturedItem[];
  readonly test: readonly FeaturedItem[];
  /** What the models record as their split (seeded settings, or 'dataset'). */
  readonly recorded: SplitSpec | 'dataset';
  /** One line saying how the images were split. */
  readonly description: string;
}

/** Opens the dataset and splits it (see the module comment for the three cases). */
async function splitDataset(opts: CompareOptions): Promise<{ dataset: Dataset; recorded: SplitSpec | 'dataset'; description: string }> {
  const split: SplitSpec = { ...DEFAULT_SPLIT, ...opts.split };
  const dataset = await openDataset(opts.dataset.path, {
    ...(opts.dataset.format ? { format: opts.dataset.format } : {}),
    ...(opts.dataset.imagesDir ? { imagesDir: opts.dataset.imagesDir } : {}),
    split,
  });
  if (dataset.splits.kind !== 'dataset') {
    const pct = (x: number): string => `${Math.round(x * 100)}%`;
    return { dataset, recorded: split, description: `seeded split (seed ${split.seed}): ${pct(split.valFraction)} validation, ${pct(split.testFraction)} test` };
  }
  if (itemsOf(dataset, 'test').length > 0) return { dataset, recorded: 'dataset', description: "the dataset's own train/val/test split" };
  // Own train/val only: its val images are held out for the test; a seeded share of train validates.
  const trainPart = assignSplits(
    { ...dataset, items: itemsOf(dataset, 'train'), splits: { kind: 'none' } },
    { seed: split.seed, valFraction: split.valFraction, testFraction: 0 },
  );
  const items = [...trainPart.items, ...itemsOf(dataset, 'val').map((i) => ({ ...i, split: 'test' as const }))];
  return {
    dataset: { ...dataset, items },
    recorded: 'dataset',
    description: `the dataset's val split as test; ${Math.round(split.valFraction * 100)}% of its train split (seed ${split.seed}) for validation`,
  };
}

async function prepareStudyData(opts: CompareOptions, events: CompareEvents): Promise<StudyData> {
  const { dataset, recorded, description } = await splitDataset(opts);
  if (dataset.problems.length) events.onDatasetProblems?.({ source: dataset.source, problems: dataset.problems });
  const train = itemsOf(dataset, 'train');
  const val = itemsOf(dataset, 'val');
  const test = itemsOf(dataset, 'test');
  if (test.length === 0) throw new Error(`${dataset.source}: no held-out test images to score the schedules on (give a test fraction > 0)`);
  const { featured, failures } = await featuresOf([...train, ...val, ...test], opts.featureEncoder ?? opts.encoder, featureOptionsOf(opts, events));
  if (failures.length) events.onUnreadable?.(failures);
  const part = (items: readonly unknown[]): FeaturedItem[] => {
    const set = new Set(items);
    return featured.filter((f) => set.has(f.item));
  };
  const data = { dataset, train: part(train), val: part(val), test: part(test), recorded, description };
  if (data.train.length === 0) throw new Error(`${dataset.source}: no readable captioned images to train on`);
  if (data.test.length === 0) throw new Error(`${dataset.source}: none of the test images could be read`);
  return data;
}

/** Checks `outDir`'s study.json against `spec` (writing it when there is none). */
async function claimStudyDir(outDir: string, spec: StudySpec): Promise<void> {
  const file = path.join(outDir, STUDY_FILE);
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) {
    await writeFileAtomic(file, `${JSON.stringify(spec, null, 2)}\n`);
    return;
  }
  let before: unknown;
  try {
    before = JSON.parse(text);
  } catch {
    throw new Error(`${file}: not valid JSON; remove the folder or choose another to start a study`);
  }
  const now = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
  const was = (before ?? {}) as Record<string, unknown>;
  const differs = Object.keys(now).filter((k) => JSON.stringify(was[k]) !== JSON.stringify(now[k]));
  if (differs.length) {
    throw new Error(`${outDir} holds a study with other settings (${differs.join(', ')} differ): choose another folder, or ask for the same settings to resume it`);
  }
}

async function readRunResult(file: string): Promise<RunResult | null> {
  const text = await readFile(file, 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    return runResultSchema.parse(JSON.parse(text));
  } catch {
    return null; // a damaged record: the run is finished again from its checkpoint
  }
}

function runEpochs(history: readonly EpochRecord[]): RunEpoch[] {
  return history.map((h) => ({ epoch: h.epoch, trainLoss: h.trainLoss, valLoss: h.valLoss, valBleu4: h.bleu4, valCiderD: h.ciderD, epsilon: h.epsilon }));
}

/** Trains (or resumes, or reads back) one run and scores its kept epoch on the test images. */
async function runOne(opts: CompareOptions, events: CompareEvents, data: StudyData, shared: TrainConfig, ref: RunRef, trainImages: TrainData): Promise<{ result: RunResult; trained: boolean }> {
  const dir = path.join(opts.outDir, 'runs', ref.id);
  const resultFile = path.join(dir, RESULT_FILE);
  const done = await readRunResult(resultFile);
  if (done) {
    events.onRunDone?.(ref, done, true);
    return { result: done, trained: false };
  }
  await recoverRun(dir);
  const resume = await pathExists(path.join(runPaths(dir).latest, CHECKPOINT_FILE));
  const epochsBefore = resume ? runEpochs((await readCheckpointMeta(runPaths(dir).latest)).meta.history) : [];
  events.onRunStart?.({ ...ref, resumed: resume, epochsBefore });
  const trained = await train({
    data: trainImages,
    config: { ...shared, schedule: SCHEDULE_PRESETS[ref.schedule], seed: ref.seed },
    runDir: dir,
    ...(resume ? { resume: true } : { overwrite: true }),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.workers ? { workers: opts.workers } : {}),
    name: `${opts.name ?? path.basename(opts.outDir)} · ${ref.schedule} · seed ${ref.seed}`,
    provenance: {
      ...opts.provenance,
      study: path.resolve(opts.outDir),
      dataset: data.dataset.source,
      format: data.dataset.format,
      split: splitProvenance(data.recorded),
      trainImages: data.train.length,
      valImages: data.val.length,
      testImages: data.test.length,
      backend: opts.backend ?? 'unknown',
    },
    onProgress: (p) => {
      events.pausePoint?.();
      events.onProgress?.({ ...p, phase: `${ref.id} (${ref.index + 1}/${ref.total}) ${p.phase ?? ''}`.trim() });
    },
    onEpoch: (e) => events.onEpoch?.(ref, e),
  });
  try {
    const evaluation = evaluateModel(trained.model, opts.encoder.id, data.test, { ...TEST_DECODING, maxLength: shared.maxLength });
    const result: RunResult = {
      id: ref.id,
      schedule: ref.schedule,
      seed: ref.seed,
      epochs: runEpochs(trained.history),
      bestEpoch: trained.best?.epoch ?? trained.history.length,
      bestValCiderD: trained.history.find((h) => h.epoch === trained.best?.epoch)?.ciderD ?? null,
      test: evaluation.metrics,
      testImages: evaluation.images,
      trainSeconds: trained.history.reduce((s, h) => s + h.seconds, 0),
    };
    await writeFileAtomic(resultFile, `${JSON.stringify(result, null, 2)}\n`);
    events.onRunDone?.(ref, result, false);
    return { result, trained: true };
  } finally {
    disposeCaptionModel(trained.model);
  }
}

function trainerData(opts: CompareOptions, data: StudyData): TrainData {
  return { encoderId: opts.encoder.id, featureDim: opts.encoder.featureDim, train: toTrainImages(data.train), val: toTrainImages(data.val) };
}

/** The runs of a study, in order: every seed of the first schedule, then the next schedule's, … */
export function studyRuns(schedules: readonly EpsilonScheduleType[], seeds: number, firstSeed = 1): RunRef[] {
  const total = schedules.length * seeds;
  return schedules.flatMap((schedule, s) => Array.from({ length: seeds }, (_, k) => ({ id: runId(schedule, firstSeed + k), schedule, seed: firstSeed + k, index: s * seeds + k, total })));
}

/** Checks the schedules and seeds asked for; one-line errors. */
export function checkStudyRequest(schedules: readonly string[], seeds: number): EpsilonScheduleType[] {
  if (schedules.length === 0) throw new Error('name at least one schedule to compare');
  const unknown = schedules.filter((s) => !(EPSILON_SCHEDULE_TYPES as readonly string[]).includes(s));
  if (unknown.length) throw new Error(`unknown schedule ${unknown.map((s) => `'${s}'`).join(', ')}: choose from ${EPSILON_SCHEDULE_TYPES.join(', ')}`);
  const twice = schedules.filter((s, i) => schedules.indexOf(s) !== i);
  if (twice.length) throw new Error(`schedule '${twice[0]}' is named twice`);
  if (!(Number.isInteger(seeds) && seeds >= 1)) throw new Error(`seeds must be a positive integer, got ${seeds}`);
  return schedules as EpsilonScheduleType[];
}

/** Runs (or resumes) a study and writes its table, chart and best model; see the module comment. */
export async function compareSchedules(opts: CompareOptions, events: CompareEvents = {}): Promise<CompareResult> {
  const schedules = checkStudyRequest(opts.schedules, opts.seeds);
  const outDir = path.resolve(opts.outDir);
  // patience 0: every run trains the same number of epochs.
  const shared = resolveTrainConfig({ ...opts.config, patience: 0 });
  const runs = studyRuns(schedules, opts.seeds, opts.firstSeed ?? 1);
  const data = await prepareStudyData({ ...opts, outDir }, events);
  const { schedule: _schedule, seed: _seed, ...sharedSettings } = shared;
  await claimStudyDir(outDir, {
    dataset: data.dataset.source,
    config: sharedSettings,
    split: data.description,
    encoderId: opts.encoder.id,
  });
  events.onStart?.({ train: data.train.length, val: data.val.length, test: data.test.length, source: data.dataset.source, split: data.description, runs });

  const trainImages = trainerData(opts, data);
  const results: RunResult[] = [];
  let trainedNow = 0;
  for (const ref of runs) {
    const { result, trained } = await runOne({ ...opts, outDir }, events, data, shared, ref, trainImages);
    results.push(result);
    if (trained) trainedNow++;
  }

  const rows = scheduleRows(schedules, results);
  const best = results.reduce((a, b) => ((b.bestValCiderD ?? -Infinity) > (a.bestValCiderD ?? -Infinity) ? b : a));
  const modelDir = path.join(outDir, BEST_MODEL_DIR);
  await copyBundle(runPaths(path.join(outDir, 'runs', best.id)).best, modelDir);
  const files = { csv: path.join(outDir, 'compare.csv'), json: path.join(outDir, 'compare.json'), png: path.join(outDir, 'compare.png') };
  const summary = {
    dataset: data.dataset.source,
    split: data.description,
    images: { train: data.train.length, val: data.val.length, test: data.test.length },
    encoder: opts.encoder.id,
    config: sharedSettings,
    schedules: Object.fromEntries(schedules.map((s) => [s, SCHEDULE_PRESETS[s]])),
    seeds: [...new Set(runs.map((r) => r.seed))],
    testDecoding: TEST_DECODING,
    rows,
    runs: results,
    best: { id: best.id, schedule: best.schedule, seed: best.seed, valCiderD: best.bestValCiderD, modelDir },
  };
  await writeFileAtomic(files.json, `${JSON.stringify(summary, null, 2)}\n`);
  await writeFileAtomic(files.csv, tableCsv(rows));
  const series: ChartSeries[] = rows.map((r) => ({
    schedule: r.schedule,
    mean: r.valCiderD,
    runs: results.filter((x) => x.schedule === r.schedule).map((x) => x.epochs.map((e) => e.valCiderD)),
  }));
  // A dataset file (captions.json) is named with its folder, which says more.
  const source = data.dataset.source;
  const shown = path.extname(source) ? `${path.basename(path.dirname(source))}/${path.basename(source)}` : path.basename(source);
  await writeFileAtomic(files.png, await chartPng(series, `Validation CIDEr-D per epoch — ${shown}, ${opts.seeds} seed${opts.seeds > 1 ? 's' : ''} per schedule`));
  return {
    outDir,
    rows,
    runs: results,
    best: summary.best,
    files,
    split: data.description,
    testImages: data.test.length,
    trained: trainedNow,
  };
}
