/**
 * The typed API the renderer sees: each method's request and response, the error type every transport raises,
 * and the small bridge object the Electron preload exposes on `window.captionStudio`.
 */
import type { MethodName } from './channels.ts';
import type { RequestOf } from './schemas.ts';
import type {
  ApiErrorCode,
  AppInfo,
  BackendListing,
  CaptionsConverted,
  CaptionExplanationView,
  CaptionsWritten,
  DatasetItemView,
  DatasetSaved,
  DatasetView,
  FsListing,
  JobEvent,
  JobSummary,
  ModelSummary,
  Settings,
  TrainPlan,
} from './types.ts';

/** The response type of every method. */
export interface ResponseMap {
  'app.info': AppInfo;
  'settings.get': Settings;
  'settings.update': Settings;
  /** Every tfjs backend, usable here or not, with the reason. */
  'backends.list': readonly BackendListing[];
  'fs.list': FsListing;
  'files.upload': { readonly path: string };
  /** The chosen paths; empty when the user cancelled. */
  'dialog.open': { readonly paths: readonly string[] };
  'caption.start': JobSummary;
  /** Why the model wrote each word of a caption (engine/explain.ts). */
  'caption.explain': CaptionExplanationView;
  'dataset.open': DatasetView;
  'dataset.items': { readonly items: readonly DatasetItemView[] };
  'dataset.save': DatasetSaved;
  'dataset.close': { readonly closed: boolean };
  'train.plan': TrainPlan;
  'train.start': JobSummary;
  /** The scheduled-sampling study (one model per schedule × seed) as one job. */
  'compare.start': JobSummary;
  'export.start': JobSummary;
  /** Captions the Caption view holds, written as a CSV/JSONL file or as caption files beside their images. */
  'captions.write': CaptionsWritten;
  /** A dataset's own captions in another format, no model (`caption-studio convert`). */
  'dataset.convert': CaptionsConverted;
  'models.list': readonly ModelSummary[];
  'models.import': ModelSummary;
  'models.export': { readonly path: string };
  'models.delete': { readonly deleted: string };
  'jobs.list': readonly JobSummary[];
  'jobs.cancel': JobSummary;
  'jobs.pause': JobSummary;
  'jobs.resume': JobSummary;
}

export type ResponseOf<M extends MethodName> = ResponseMap[M];

/** The outcome of a call as it crosses a process boundary (IPC or HTTP): a value or an error body. */
export type Envelope<M extends MethodName> =
  | { readonly ok: true; readonly value: ResponseOf<M> }
  | { readonly ok: false; readonly error: string; readonly code: ApiErrorCode };

/** An error raised by the backend and re-raised in the renderer, keeping its code. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: ApiErrorCode,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** What the Electron preload exposes through contextBridge as `window.captionStudio`. */
export interface PreloadBridge {
  readonly platform: string;
  invoke<M extends MethodName>(method: M, request: RequestOf<M>): Promise<Envelope<M>>;
  /** Subscribes to job events; returns the unsubscribe function. */
  onEvent(listener: (event: JobEvent) => void): () => void;
  /** The file-system path of a dropped or picked File (Electron's webUtils.getPathForFile). */
  pathForFile(file: File): string;
}
