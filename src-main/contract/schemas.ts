/**
 * A zod schema for the request of every contract method. The main process and the HTTP server validate every
 * payload with these before anything else looks at it; the renderer only imports their types.
 */
import { z } from 'zod';
import type { MethodName } from './channels.ts';
import { DATASET_FORMATS } from '../data/dataset-types.ts';
import { EPSILON_SCHEDULE_TYPES, epsilonScheduleSchema } from '../engine/schedules.ts';
import { BACKEND_CHOICES, EXPORT_FORMAT_NAMES, THEMES } from './types.ts';

const empty = z.strictObject({});
/** An absolute or relative file-system path as the user gave it (resolved on the backend). */
const path = z.string().min(1, 'path must not be empty').max(4096);
const id = z.string().min(1).max(200);
const beamSize = z.int().min(1).max(20);
/** A thread-count setting: 1 to 256 threads, or null for one per core. */
export const threadCountSchema = z.int().min(1).max(256).nullable();

/** The engine's ε-schedule schema, validity checks included (engine/schedules.ts). */
export { epsilonScheduleSchema };

export const settingsPatchSchema = z.strictObject({
  backend: z.enum(BACKEND_CHOICES).optional(),
  beamSize: beamSize.optional(),
  maxLength: z.int().min(2).max(60).optional(),
  theme: z.enum(THEMES).optional(),
  modelId: id.nullable().optional(),
  trainWorkers: threadCountSchema.optional(),
  captionWorkers: threadCountSchema.optional(),
});

/** Where a dataset comes from: a folder (sidecar captions) or a file in one of the formats the CLI reads. */
export const datasetSourceSchema = z.strictObject({
  path,
  format: z.enum(['auto', ...DATASET_FORMATS]).optional(),
  imagesDir: path.optional(),
});

export const trainRequestSchema = z.strictObject({
  dataset: datasetSourceSchema,
  /** Name of the model to create (also its folder name once made safe). */
  name: z.string().trim().min(1).max(80),
  epochs: z.int().min(1).max(1000),
  batchSize: z.int().min(1).max(1024),
  hiddenDim: z.int().min(4).max(4096),
  embedDim: z.int().min(4).max(4096).optional(),
  learningRate: z.number().gt(0).max(1).optional(),
  schedule: epsilonScheduleSchema,
  /** Fraction of images held out for validation when the dataset has no split. */
  valFraction: z.number().min(0).max(0.9).optional(),
  /** Fraction of images held out for testing (`caption-studio eval`) when the dataset has no split. */
  testFraction: z.number().min(0).max(0.9).optional(),
  minCount: z.int().min(1).max(1000).optional(),
  /** Early stopping: epochs without a better validation score before the run ends. */
  patience: z.int().min(1).max(1000).optional(),
  seed: z.int().min(0).max(2 ** 31 - 1).optional(),
  /** Resume a run's last checkpoint instead of starting afresh. */
  resume: z.boolean().optional(),
  /** With `resume`: the run to continue (a train job's `request.runId`); by default the run named like `name`. */
  runId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,79}$/, 'a run id: lower-case letters, digits and dashes').optional(),
});

/**
 * The scheduled-sampling study (`caption-studio compare`): the schedules (with their preset parameters) and seeds,
 * and the settings every run shares. A study is kept under its name: the same request again resumes it.
 */
export const compareRequestSchema = z.strictObject({
  dataset: datasetSourceSchema,
  /** Names the study's folder and the model it keeps. */
  name: z.string().trim().min(1).max(80),
  schedules: z
    .array(z.enum(EPSILON_SCHEDULE_TYPES))
    .min(1)
    .max(EPSILON_SCHEDULE_TYPES.length)
    .refine((s) => new Set(s).size === s.length, 'a schedule is named twice'),
  seeds: z.int().min(1).max(10),
  epochs: z.int().min(1).max(1000),
  batchSize: z.int().min(1).max(1024).optional(),
  hiddenDim: z.int().min(4).max(4096).optional(),
  embedDim: z.int().min(4).max(4096).optional(),
  learningRate: z.number().gt(0).max(1).optional(),
  minCount: z.int().min(1).max(1000).optional(),
  valFraction: z.number().min(0).max(0.9).optional(),
  testFraction: z.number().gt(0).max(0.9).optional(),
});

/**
 * What the Train view plans before it starts: the dataset (optional: without one only the defaults come back) and
 * the settings that change the plan.
 */
export const trainPlanRequestSchema = z.strictObject({
  dataset: datasetSourceSchema.optional(),
  epochs: z.int().min(1).max(1000).optional(),
  batchSize: z.int().min(1).max(1024).optional(),
  minCount: z.int().min(1).max(1000).optional(),
  valFraction: z.number().min(0).max(0.9).optional(),
  testFraction: z.number().min(0).max(0.9).optional(),
  seed: z.int().min(0).max(2 ** 31 - 1).optional(),
  schedule: epsilonScheduleSchema.optional(),
});

export const requestSchemas = {
  'app.info': empty,
  'backends.list': empty,
  'settings.get': empty,
  'settings.update': settingsPatchSchema,
  'fs.list': z.strictObject({ path: path.optional() }),
  /** A file without a path (pasted image, or dropped in a browser), as base64; stored in the session's upload folder. */
  'files.upload': z.strictObject({ name: z.string().min(1).max(255), base64: z.base64().max(140 * 1024 * 1024) }),
  'dialog.open': z.strictObject({ purpose: z.enum(['images', 'folder', 'dataset', 'model', 'save-csv', 'save-model']) }),
  'caption.start': z.strictObject({
    paths: z.array(path).min(1).max(100_000),
    modelId: id.optional(),
    beamSize: beamSize.optional(),
  }),
  /** Explain one caption of one image (an image the session may read): per word, saliency, gates, units. */
  'caption.explain': z.strictObject({
    path,
    /** The caption to explain; default: the model's best caption of the image. */
    caption: z.string().trim().min(1).max(2000).optional(),
    modelId: id.optional(),
  }),
  'dataset.open': datasetSourceSchema,
  /** The next part of an open dataset's item list (dataset.open answers with the first part). */
  'dataset.items': z.strictObject({ datasetId: id, offset: z.number().int().min(0), limit: z.number().int().min(1).max(100_000) }),
  'dataset.save': z.strictObject({
    datasetId: id,
    changes: z.array(z.strictObject({ id: z.string().min(1), captions: z.array(z.string().max(2000)).max(100) })).max(1_000_000),
    /** The machine-written (not yet accepted) captions of these images from now on (see data/machine-captions.ts). */
    machine: z.array(z.strictObject({ id: z.string().min(1), captions: z.array(z.string().max(2000)).max(100) })).max(1_000_000).optional(),
  }),
  'dataset.close': z.strictObject({ datasetId: id }),
  'train.plan': trainPlanRequestSchema,
  'train.start': trainRequestSchema,
  'compare.start': compareRequestSchema,
  'export.start': z
    .strictObject({
      source: datasetSourceSchema,
      /** The file to write; not needed for 'sidecar' (caption files go beside the images). */
      outPath: path.optional(),
      format: z.enum(EXPORT_FORMAT_NAMES).optional(),
      modelId: id.optional(),
      beamSize: beamSize.optional(),
      /** Read the source as a dataset and add its reference captions to each row. */
      includeReferences: z.boolean().optional(),
      /** csv: start with a UTF-8 byte-order mark (for Excel). */
      bom: z.boolean().optional(),
      /** sidecar: replace existing caption files. */
      overwrite: z.boolean().optional(),
    })
    .refine((r) => r.format === 'sidecar' || r.outPath !== undefined, { message: 'outPath is needed unless format is sidecar', path: ['outPath'] }),
  'captions.write': z
    .strictObject({
      items: z
        .array(
          z.strictObject({
            path,
            caption: z.string().max(2000),
            score: z.number().finite().optional(),
            model: z.string().max(200).optional(),
          }),
        )
        .min(1)
        .max(100_000),
      format: z.enum(['csv', 'jsonl', 'sidecar']),
      /** The file to write (csv, jsonl); sidecar writes `name.txt` beside each image instead. */
      outPath: path.optional(),
      /** csv: start with a UTF-8 byte-order mark (for Excel). */
      bom: z.boolean().optional(),
      /** sidecar: replace an existing caption file (it may hold hand-written references). */
      overwrite: z.boolean().optional(),
    })
    .refine((r) => r.format === 'sidecar' || r.outPath !== undefined, { message: 'outPath is needed unless format is sidecar', path: ['outPath'] }),
  'dataset.convert': z
    .strictObject({
      source: datasetSourceSchema,
      to: z.enum(['csv', 'jsonl', 'sidecar', 'coco']),
      /** The file to write; not for 'sidecar' (caption files go beside the images). */
      outPath: path.optional(),
      bom: z.boolean().optional(),
      /** sidecar: replace existing caption files. */
      overwrite: z.boolean().optional(),
    })
    .refine((r) => r.to === 'sidecar' || r.outPath !== undefined, { message: 'outPath is needed unless converting to sidecar', path: ['outPath'] }),
  'models.list': empty,
  'models.import': z.strictObject({ path }),
  'models.export': z.strictObject({ id, destPath: path }),
  'models.delete': z.strictObject({ id }),
  'jobs.list': empty,
  'jobs.cancel': z.strictObject({ jobId: id }),
  'jobs.pause': z.strictObject({ jobId: id }),
  'jobs.resume': z.strictObject({ jobId: id }),
} as const satisfies Record<MethodName, z.ZodType>;

export type RequestSchemas = typeof requestSchemas;
/** The request type of a method, as the caller writes it (optional fields may be left out). */
export type RequestOf<M extends MethodName> = z.input<RequestSchemas[M]>;
/** The request type after validation. */
export type ParsedRequestOf<M extends MethodName> = z.output<RequestSchemas[M]>;
export type EpsilonScheduleInput = z.output<typeof epsilonScheduleSchema>;
export type TrainPlanRequest = z.output<typeof trainPlanRequestSchema>;
export type TrainRequest = z.output<typeof trainRequestSchema>;
export type CompareRequest = z.output<typeof compareRequestSchema>;
export type DatasetSource = z.output<typeof datasetSourceSchema>;

/** Thrown for a payload that does not match its schema; the message is one line naming the method and fields. */
export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

/** Validates `payload` against the method's schema; throws ValidationError with a one-line reason. */
export function parseRequest<M extends MethodName>(method: M, payload: unknown): ParsedRequestOf<M> {
  const schema = requestSchemas[method] as z.ZodType;
  const result = schema.safeParse(payload ?? {});
  if (!result.success) {
    const reasons = result.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(payload)'}: ${i.message}`);
    throw new ValidationError(`${method}: invalid request — ${reasons.join('; ')}`);
  }
  return result.data as ParsedRequestOf<M>;
}
