/**
 * What the main thread and a job worker say to each other: the parameters of each kind of job (already
 * validated and resolved to absolute paths by the services) and the messages in both directions.
 */
import type { BackendChoice, BackendStatus, CaptionExplanationView, CaptionItem, EpochReport, JobResult, ProgressEvent, StudyPoint } from '../contract/types.ts';
import type { EpsilonScheduleType } from '../engine/schedules.ts';
import type { ExportFormat } from '../data/export-formats.ts';
import type { DatasetFormat, SplitSpec } from '../data/dataset-types.ts';
import type { TrainConfigInput } from '../engine/train-config.ts';

export interface CaptionJobParams {
  /** Image files (folders already expanded). */
  readonly paths: readonly string[];
  readonly modelId: string;
  readonly modelDir: string;
  readonly beamSize: number;
  readonly maxLength: number;
  /** Threads that encode and caption (pipeline/caption-images.ts; default: one per core). */
  readonly workers?: number;
}

export interface ExportJobParams {
  readonly source: { readonly path: string; readonly format?: DatasetFormat | 'auto'; readonly imagesDir?: string };
  /** Read a folder as a dataset (sidecar captions become references) rather than as plain images. */
  readonly asDataset: boolean;
  /** The file to write (unused for sidecar, which writes beside the images). */
  readonly outPath: string;
  readonly format: ExportFormat;
  readonly bom: boolean;
  readonly overwrite: boolean;
  readonly modelId: string;
  readonly modelDir: string;
  readonly beamSize: number;
  readonly includeReferences: boolean;
  /** Threads that encode and caption (pipeline/caption-images.ts; default: one per core). */
  readonly workers?: number;
}

export interface TrainJobParams {
  readonly dataset: { readonly path: string; readonly format?: DatasetFormat | 'auto'; readonly imagesDir?: string };
  readonly name: string;
  readonly modelId: string;
  /** Where the finished bundle goes. */
  readonly modelDir: string;
  /** Where checkpoints go (kept for resume until the run finishes). */
  readonly checkpointDir: string;
  /** The feature cache's folder (data/feature-cache.ts). */
  readonly cacheDir: string;
  /** The training settings asked for; the engine's defaults fill the rest. */
  readonly config: TrainConfigInput;
  /** The seeded split (for a dataset without its own); fields left out get the defaults. */
  readonly split: Partial<SplitSpec>;
  readonly resume: boolean;
  /** Data-parallel training threads on wasm (default: one per core). */
  readonly workers?: number;
}

/** One explanation, asked of the inference worker as a call (not a job: it answers in about a second). */
export interface ExplainParams {
  /** The image file (already checked readable by this session). */
  readonly path: string;
  /** The caption to explain; default: the model's best caption. */
  readonly caption?: string;
  readonly modelDir: string;
  readonly beamSize: number;
  readonly maxLength: number;
}

export interface CompareJobParams {
  readonly dataset: { readonly path: string; readonly format?: DatasetFormat | 'auto'; readonly imagesDir?: string };
  readonly name: string;
  readonly schedules: readonly EpsilonScheduleType[];
  readonly seeds: number;
  /** Settings every run shares (the study sets the schedule and seed per run). */
  readonly config: TrainConfigInput;
  readonly split: Partial<SplitSpec>;
  /** The study's folder (resumed when it holds the same study). */
  readonly studyDir: string;
  /** Where the best run's model is installed, and its id. */
  readonly modelId: string;
  readonly modelDir: string;
  readonly cacheDir: string;
  readonly workers?: number;
}

export type JobSpec =
  | { readonly kind: 'caption'; readonly params: CaptionJobParams }
  | { readonly kind: 'export'; readonly params: ExportJobParams }
  | { readonly kind: 'train'; readonly params: TrainJobParams }
  | { readonly kind: 'compare'; readonly params: CompareJobParams };

/** Data a worker starts with. */
export interface WorkerInit {
  readonly backend: BackendChoice;
}

/** Main thread → worker. */
export type ToWorker =
  | { readonly type: 'run'; readonly jobId: string; readonly spec: JobSpec; readonly control: SharedArrayBuffer }
  | { readonly type: 'explain'; readonly callId: number; readonly params: ExplainParams };

/** What a running job reports (forwarded to the UI as JobEvents). */
export type JobUpdate =
  | { readonly type: 'progress'; readonly progress: ProgressEvent }
  | { readonly type: 'caption'; readonly item: CaptionItem }
  | { readonly type: 'batch'; readonly batch: number; readonly loss: number; readonly epsilon: number }
  | { readonly type: 'epoch'; readonly epoch: EpochReport }
  | { readonly type: 'study'; readonly point: StudyPoint }
  | { readonly type: 'paused'; readonly paused: boolean };

/** Worker → main thread. */
export type FromWorker =
  | { readonly type: 'backend'; readonly status: BackendStatus }
  | { readonly type: 'started'; readonly jobId: string }
  | { readonly type: 'update'; readonly jobId: string; readonly update: JobUpdate }
  | { readonly type: 'done'; readonly jobId: string; readonly result: JobResult }
  | { readonly type: 'failed'; readonly jobId: string; readonly error: string; readonly cancelled: boolean }
  | { readonly type: 'explained'; readonly callId: number; readonly value: CaptionExplanationView }
  | { readonly type: 'explain-failed'; readonly callId: number; readonly error: string };

/** The worker's messages about jobs and its backend (explain answers are settled by the WorkerHost itself). */
export type JobMessage = Exclude<FromWorker, { readonly type: 'explained' | 'explain-failed' }>;
