/**
 * The shapes the backend hands to the UI (responses and job events). Types, and the few name lists they are made
 * of (re-exported from import-free leaf modules), so any front end can import it for free.
 */
import { DATASET_FORMATS, type DatasetFormat } from '../data/dataset-types.ts';
import { EXPORT_FORMATS, type ExportFormat } from '../data/export-formats.ts';
import { BACKEND_PREFERENCES, type BackendPreference } from '../engine/backend-names.ts';
import type { EpsilonScheduleType } from '../engine/schedules.ts';
import type { ScheduleRow } from '../pipeline/compare-table.ts';
import type { ProgressEvent } from '../util/progress.ts';
import type { RequestOf } from './schemas.ts';

export type { ProgressEvent };

/** Which front end is talking to the backend. */
export type AppMode = 'electron' | 'browser';

/** tfjs backends the user may ask for ('auto' tries the fastest first): engine/backend-names.ts's list. */
export const BACKEND_CHOICES = BACKEND_PREFERENCES;
export type BackendChoice = BackendPreference;

export const THEMES = ['system', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];

/** One backend as Settings lists it: usable ('yes'), only when chosen by name ('by-name'), or not ('no'), and why. */
export interface BackendListing {
  readonly backend: string;
  readonly usable: 'yes' | 'by-name' | 'no';
  readonly reason: string;
}

/** What the user chose in Settings; stored as JSON in the user data folder. */
export interface Settings {
  readonly backend: BackendChoice;
  /** Beam width for captioning (1 = greedy). */
  readonly beamSize: number;
  /** Longest caption, in words, the decoder may write. */
  readonly maxLength: number;
  readonly theme: Theme;
  /** The model used for captioning and export; null = the shipped default (or the first one found). */
  readonly modelId: string | null;
  /** Data-parallel training threads on the wasm backend; null = one per core. */
  readonly trainWorkers: number | null;
  /** Threads that encode and caption images (caption and export jobs) on the wasm backend; null = one per core. */
  readonly captionWorkers: number | null;
}

/** What the inference worker actually runs on (null until it has started once). */
export interface BackendStatus {
  readonly requested: BackendChoice;
  /** The running backend, e.g. 'wasm'. */
  readonly active: string | null;
  /** One line such as "wasm (SIMD, 1 thread; tensorflow: package … not installed)". */
  readonly description: string | null;
  readonly error: string | null;
}

export interface AppInfo {
  readonly name: string;
  readonly version: string;
  readonly mode: AppMode;
  readonly platform: string;
  readonly settings: Settings;
  readonly backend: BackendStatus;
  readonly homeDir: string;
  readonly userModelsDir: string;
}

export interface FsEntry {
  readonly name: string;
  readonly path: string;
  readonly kind: 'dir' | 'file';
  readonly size: number;
}

/** One folder's listing, for the browser mode's file picker. */
export interface FsListing {
  readonly path: string;
  readonly parent: string | null;
  readonly entries: readonly FsEntry[];
  /** How many hidden entries (dot files and folders) were left out of `entries`. */
  readonly hidden: number;
  /** Good places to start from: home, the working directory. */
  readonly places: readonly { readonly label: string; readonly path: string }[];
}

export interface ImageTag {
  readonly label: string;
  readonly probability: number;
}

export interface CaptionAlternative {
  readonly caption: string;
  /** Log-probability of the whole caption under the model (higher is better). */
  readonly score: number;
}

/** The outcome for one image of a caption job: a caption, or the one-line reason it failed. */
export type CaptionItem =
  | {
      readonly ok: true;
      readonly path: string;
      readonly name: string;
      readonly caption: string;
      readonly score: number;
      /** Other beams, best first (the best caption excluded). */
      readonly alternatives: readonly CaptionAlternative[];
      readonly tags: readonly ImageTag[];
      readonly modelId: string;
    }
  | { readonly ok: false; readonly path: string; readonly name: string; readonly error: string };

export interface DatasetItemView {
  readonly id: string;
  readonly imagePath: string;
  readonly captions: readonly string[];
  readonly split?: string;
  /** Those of `captions` a model wrote that nobody accepted yet (absent when none). */
  readonly machine?: readonly string[];
}

export interface DatasetStatsView {
  readonly images: number;
  readonly captions: number;
  /** Words seen at least `minWordCount` times over all captions (the CLI's `stats` rule; a model's vocabulary). */
  readonly vocabulary: number;
  readonly minWordCount: number;
  /** Distinct words over all captions. */
  readonly words: number;
  readonly meanLength: number;
  /** Number of captions of each length in words, index = length. */
  readonly lengthHistogram: readonly number[];
  readonly splits: Readonly<Record<string, number>>;
  /** Every word with its count (the training tokenizer), most frequent first. */
  readonly wordCounts: readonly (readonly [string, number])[];
}

/** An opened dataset: every item (the UI filters and virtualises them) and what could not be read. */
export interface DatasetView {
  readonly datasetId: string;
  readonly path: string;
  readonly name: string;
  readonly format: string;
  /** The first `items.length` of `total` items; `dataset.items` gives the rest in parts. */
  readonly items: readonly DatasetItemView[];
  readonly total: number;
  /** The first problems found while reading (at most a few hundred lines travel to the UI). */
  readonly problems: readonly string[];
  /** How many problems there were in all (the CLI's `stats` count), which may exceed `problems.length`. */
  readonly problemCount: number;
  readonly stats: DatasetStatsView;
}

export interface DatasetSaved {
  readonly path: string;
  readonly format: string;
  readonly changed: number;
  readonly stats: DatasetStatsView;
}

export interface ModelSummary {
  readonly id: string;
  readonly name: string;
  /** Shipped with the app (cannot be deleted). */
  readonly builtin: boolean;
  readonly dir: string;
  readonly createdAt: string | null;
  readonly encoderId: string;
  readonly vocabSize: number;
  readonly hiddenDim: number;
  readonly sizeBytes: number;
  /** Validation metrics recorded at training time (bleu4, ciderD, …). */
  readonly metrics: Readonly<Record<string, number>>;
  /** What it was trained on, as recorded in the bundle. */
  readonly training: Readonly<Record<string, string | number>>;
}

export type JobKind = 'caption' | 'train' | 'export' | 'compare';

/** A hidden unit that fired at a word, with the words it fires for most when unit meanings have been computed. */
export interface ExplainedUnitView {
  readonly unit: number;
  /** Its output h at this step, in (−1, 1). */
  readonly activation: number;
  /** The words at which it is most active over a dataset's captions (`caption-studio units`), most first. */
  readonly words?: readonly { readonly word: string; readonly activation: number; readonly count: number }[];
}

/** One word of an explained caption (engine/explain.ts). */
export interface ExplainedWordView {
  readonly index: number;
  readonly word: string;
  readonly probability: number;
  /** The 5 most probable tokens at this step, best first. */
  readonly alternatives: readonly { readonly word: string; readonly probability: number }[];
  /** Mean gate activations over the hidden units, and the mean |Δc| of the cell state. */
  readonly gates: { readonly input: number; readonly forget: number; readonly output: number; readonly cellChange: number };
  readonly topUnits: readonly ExplainedUnitView[];
  /** Grad-CAM over the whole image, row-major from the top-left, values in [0, 1]. */
  readonly heatmap: { readonly width: number; readonly height: number; readonly values: readonly number[] };
}

export interface CaptionExplanationView {
  readonly path: string;
  readonly caption: string;
  readonly method: 'grad-cam';
  readonly encoderId: string;
  readonly endProbability: number;
  readonly words: readonly ExplainedWordView[];
  /** Whether the model has unit meanings (then top units carry their words). */
  readonly unitMeanings: boolean;
}
/** queued: waiting for the worker; paused: stopped at a safe point, resumable; the last three are final. */
/**
 * 'interrupted': a training run stopped because the app or server stopped (not by the user); its checkpoint holds
 * where it stopped, and resuming it continues exactly there.
 */
export type JobState = 'queued' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled' | 'interrupted';

/** One sample caption of a validation image, written after an epoch. */
export interface SampleCaption {
  readonly imagePath: string;
  readonly caption: string;
  readonly references: readonly string[];
}

/** What a training run reports at the end of each epoch. */
export interface EpochReport {
  readonly epoch: number;
  readonly epochs: number;
  readonly trainLoss: number;
  readonly valLoss: number | null;
  readonly bleu4: number | null;
  readonly ciderD: number | null;
  readonly epsilon: number;
  readonly learningRate: number | null;
  readonly samples: readonly SampleCaption[];
}

export type JobResult =
  | { readonly kind: 'caption'; readonly captioned: number; readonly failed: number }
  | StudyResult
  | {
      readonly kind: 'train';
      readonly modelId: string;
      /** The installed (best) epoch's figures. */
      readonly metrics: Readonly<Record<string, number>>;
      readonly bestEpoch: number | null;
      readonly epochsRun: number;
      readonly stoppedBy: 'epochs' | 'early-stopping';
    }
  | {
      readonly kind: 'export';
      /** The file written (for sidecar: the folder the caption files went into). */
      readonly outPath: string;
      readonly format: ExportFormatName;
      readonly rows: number;
      /** Images that could not be read. */
      readonly failed: number;
      /** Rows left out by the writer (e.g. sidecar files that already existed). */
      readonly skipped: number;
      /** One line per image left out or skipped, naming it and the reason (the first 50). */
      readonly problems: readonly string[];
    };

/** One epoch of one run of a schedule study: what the Compare schedules panel charts live. */
export interface StudyPoint {
  readonly run: string;
  readonly schedule: EpsilonScheduleType;
  readonly seed: number;
  readonly epoch: number;
  /** Validation CIDEr-D after the epoch. */
  readonly ciderD: number | null;
}

/** What a schedule study (`compare.start`) ends with: the table, the kept model and the files written. */
export interface StudyResult {
  readonly kind: 'compare';
  /** The best run's model, installed in the model list. */
  readonly modelId: string;
  readonly rows: readonly ScheduleRow[];
  readonly best: { readonly id: string; readonly schedule: EpsilonScheduleType; readonly seed: number; readonly valCiderD: number | null };
  readonly testImages: number;
  /** How the images were split, in one line. */
  readonly split: string;
  /** The study's folder and its table (CSV, JSON) and chart (PNG). */
  readonly dir: string;
  readonly files: { readonly csv: string; readonly json: string; readonly png: string };
  /** Runs trained by this job (the others were finished by an earlier one). */
  readonly trained: number;
}

/** What `captions.write` did. */
export interface CaptionsWritten {
  readonly format: 'csv' | 'jsonl' | 'sidecar';
  /** Files written (the one output file, or the caption files beside the images). */
  readonly written: readonly string[];
  readonly rows: number;
  /** Captions not written, each with the reason (e.g. an existing caption file, an uploaded copy). */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}

/** What `dataset.convert` wrote. */
export interface CaptionsConverted {
  readonly format: 'csv' | 'jsonl' | 'sidecar' | 'coco';
  readonly written: readonly string[];
  readonly images: number;
  readonly captions: number;
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}

/** Dataset formats the backend reads (data/dataset-types.ts's list); 'auto' detects. */
export const DATASET_FORMAT_NAMES = DATASET_FORMATS;
export type DatasetFormatName = DatasetFormat;

/** Output formats of an export: data/export-formats.ts's list. */
export const EXPORT_FORMAT_NAMES = EXPORT_FORMATS;
export type ExportFormatName = ExportFormat;

export interface JobSummary {
  readonly id: string;
  readonly kind: JobKind;
  readonly title: string;
  readonly state: JobState;
  readonly startedAt: number;
  readonly finishedAt: number | null;
  readonly progress: ProgressEvent | null;
  readonly error: string | null;
  readonly result: JobResult | null;
  /** Train jobs: every epoch reported so far (so a late view can draw the whole chart). */
  readonly epochs: readonly EpochReport[];
  /** Train jobs: per-batch loss and ε so far, thinned to a few hundred points. */
  readonly lossCurve: readonly { readonly batch: number; readonly loss: number; readonly epsilon: number }[];
  /** Train jobs: the request that started the run, with its `runId` (what "resume from checkpoint" sends again). */
  readonly request?: RequestOf<'train.start'>;
  /** Study jobs: every run's validation CIDEr-D per epoch so far. */
  readonly study?: readonly StudyPoint[];
}

/** What the backend pushes to every connected UI while jobs run. */
export type JobEvent =
  /** A job started, changed state or finished (the summary carries the result or the error). */
  | { readonly type: 'job'; readonly job: JobSummary }
  | { readonly type: 'progress'; readonly jobId: string; readonly progress: ProgressEvent }
  /** A caption job finished one image. */
  | { readonly type: 'caption'; readonly jobId: string; readonly item: CaptionItem }
  /** A train job finished one mini-batch (loss, ε). */
  | { readonly type: 'batch'; readonly jobId: string; readonly batch: number; readonly loss: number; readonly epsilon: number }
  | { readonly type: 'epoch'; readonly jobId: string; readonly epoch: EpochReport }
  /** A study job's run finished an epoch. */
  | { readonly type: 'study'; readonly jobId: string; readonly point: StudyPoint }
  /** The model list changed (a model was trained, imported or deleted). */
  | { readonly type: 'models'; readonly models: readonly ModelSummary[] }
  | { readonly type: 'backend'; readonly backend: BackendStatus }
  /** The settings changed (in this window or another one). */
  | { readonly type: 'settings'; readonly settings: Settings };

/** The body of every failed call: a one-line message and what kind of failure it is. */
export interface ApiErrorBody {
  readonly error: string;
  readonly code: ApiErrorCode;
}
export type ApiErrorCode = 'validation' | 'not-found' | 'unsupported' | 'conflict' | 'failed';

/**
 * The Train view's plan of a run (`train.plan`): the defaults every front end starts from, the dataset's split,
 * examples, vocabulary, batches and ε curve, as pipeline/train-plan.ts works them out.
 */
export type { DatasetPlan, TrainingDefaults as TrainDefaults, RunPlan as TrainPlan } from '../pipeline/train-plan.ts';
export type { ScheduleRow, MeanSd } from '../pipeline/compare-table.ts';
/** The ε schedules a study compares, in table order, and the colour each is drawn in. */
export { SCHEDULE_COLOURS, STUDY_SCHEDULES } from '../pipeline/schedule-colours.ts';
export { CAPTION_METRICS } from '../engine/metrics/metric-names.ts';
