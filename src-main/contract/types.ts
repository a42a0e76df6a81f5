/**
 * The shapes the backend hands to the UI (responses and job events). Type-only: nothing here exists at run time,
 * so any front end can import it for free.
 */
import type { ProgressEvent } from '../util/progress.ts';
import type { RequestOf } from './schemas.ts';

export type { ProgressEvent };

/** Which front end is talking to the backend. */
export type AppMode = 'electron' | 'browser';

/** tfjs backends the user may ask for ('auto' tries the fastest first). Mirrors engine/backend.ts. */
export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

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
}

export interface DatasetStatsView {
  readonly images: number;
  readonly captions: number;
  /** Distinct words over all captions. */
  readonly vocabulary: number;
  readonly meanLength: number;
  /** Number of captions of each length in words, index = length. */
  readonly lengthHistogram: readonly number[];
  readonly splits: Readonly<Record<string, number>>;
}

/** An opened dataset: every item (the UI filters and virtualises them) and what could not be read. */
export interface DatasetView {
  readonly datasetId: string;
  readonly path: string;
  readonly name: string;
  readonly format: string;
  readonly items: readonly DatasetItemView[];
  readonly problems: readonly string[];
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

export type JobKind = 'caption' | 'train' | 'export';
/** queued: waiting for the worker; paused: stopped at a safe point, resumable; the last three are final. */
export type JobState = 'queued' | 'running' | 'paused' | 'done' | 'failed' | 'cancelled';

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

/** Output formats of an export (mirrors data/export.ts). */
export const EXPORT_FORMAT_NAMES = ['csv', 'jsonl', 'sidecar', 'coco-results'] as const;
export type ExportFormatName = (typeof EXPORT_FORMAT_NAMES)[number];

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
