/**
 * Model bundles: a directory holding `model.json` (format version, decoder config, vocabulary, encoder id,
 * training schedule and history, validation metrics, date, provenance, and a TF.js `weightsManifest`) and
 * `weights.bin` in the TF.js weights format (float32, or float16/uint8 quantised with the standard manifest
 * `quantization` entries). Reading needs nothing but `tf.io.decodeWeights`, so a browser can load a bundle with
 * plain @tensorflow/tfjs: fetch both files and call `captionModelFromArtifacts`.
 *
 * Saving installs the bundle as one atomic directory swap (util/atomic-dir.ts): both files are written and flushed
 * into a fresh folder beside the target, which then replaces it whole, so at every instant — a kill -9 included —
 * the old or the new model loads (readers find the old one moved aside in the instant between the two renames).
 * model.json also records the weights file's SHA-256, so a damaged file is a clear error on load, not garbage.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { linkTree, readableDir, replaceDirAtomic, writeFileSynced } from '../util/atomic-dir.ts';
import { isOurTempFile } from '../util/atomic-write.ts';
import type { CaptionModel, JsonValue, ModelMetadata, TrainingSummary } from './caption-model.ts';
import { decoderConfigSchema } from './decoder-config.ts';
import { decoderWeightShapes } from './decoder.ts';
import { DECODER_WEIGHT_NAMES, type DecoderConfig, type DecoderWeights } from './model-types.ts';
import { parseTrainConfig } from './train-config.ts';
import { batchRecordSchema, bestRecordSchema, epochRecordSchema } from './train-history.ts';
import { Vocabulary } from './vocab.ts';
import { encodeWeight, type WeightStorage } from './weight-quantize.ts';

export const BUNDLE_FORMAT = 'caption-studio-model';
export const BUNDLE_VERSION = 1;
export const BUNDLE_MODEL_FILE = 'model.json';
export const BUNDLE_WEIGHTS_FILE = 'weights.bin';

export interface SaveBundleOptions {
  /** How weights are stored: float32 (exact, default), float16 (half the size) or uint8 (a quarter). */
  readonly weights?: WeightStorage;
  /** Leave the per-batch training log out of model.json (it can be long). Default false. */
  readonly omitBatchLog?: boolean;
}

/** What `saveBundle` wrote. */
export interface SavedBundle {
  readonly dir: string;
  readonly weightsBytes: number;
  readonly modelJsonBytes: number;
}

const jsonValueSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(jsonValueSchema), z.record(z.string(), jsonValueSchema)]),
);

const trainingSchema = z.object({
  config: z.unknown(),
  schedule: z.unknown(),
  learningRate: z.unknown(),
  history: z.array(epochRecordSchema),
  batchLog: z.array(batchRecordSchema).optional(),
  best: bestRecordSchema.nullable(),
  stoppedBy: z.enum(['epochs', 'early-stopping', 'cancelled', 'in-progress']),
});

const manifestEntrySchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().min(0)),
  dtype: z.literal('float32'),
  quantization: z
    .object({ dtype: z.enum(['float16', 'uint8', 'uint16']), scale: z.number().optional(), min: z.number().optional() })
    .optional(),
});

const modelJsonSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  formatVersion: z.number().int(),
  name: z.string().optional(),
  createdAt: z.string(),
  encoderId: z.string().min(1),
  decoder: decoderConfigSchema,
  vocabulary: z.unknown(),
  training: trainingSchema.optional(),
  metrics: z.record(z.string(), z.number()).optional(),
  provenance: z.record(z.string(), jsonValueSchema).optional(),
  weightsSha256: z.string().optional(),
  weightsManifest: z.array(z.object({ paths: z.array(z.string()), weights: z.array(manifestEntrySchema) })).length(1),
});

/** The parsed `model.json` of a bundle, without weights: what a model list shows. */
export interface BundleInfo {
  readonly name?: string;
  readonly encoderId: string;
  readonly config: DecoderConfig;
  readonly vocabularySize: number;
  readonly metadata: ModelMetadata;
  /** How the weights are stored. */
  readonly weightStorage: WeightStorage;
}

/** Writes `model` as a bundle into `dir` (created if needed; other files in it are left alone). */
export async function saveBundle(dir: string, model: CaptionModel, options: SaveBundleOptions = {}): Promise<SavedBundle> {
  const storage = options.weights ?? 'float32';
  const shapes = decoderWeightShapes(model.config);
  const parts: Uint8Array[] = [];
  const specs: tf.io.WeightsManifestEntry[] = [];
  for (const name of DECODER_WEIGHT_NAMES) {
    const w = model.weights[name];
    if (!tf.util.arraysEqual(w.shape, shapes[name])) {
      throw new Error(`saveBundle ${dir}: weight ${name} has shape [${w.shape}], the config needs [${shapes[name]}]`);
    }
    const encoded = encodeWeight(name, shapes[name], (await w.data()) as Float32Array, storage);
    parts.push(encoded.bytes);
    specs.push(encoded.spec);
  }
  const weightBytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    weightBytes.set(p, offset);
    offset += p.byteLength;
  }
  const meta = model.metadata;
  const training = meta.training && options.omitBatchLog ? { ...meta.training, batchLog: undefined } : meta.training;
  const json = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_VERSION,
    name: meta.name,
    createdAt: meta.createdAt,
    encoderId: model.encoderId,
    decoder: model.config,
    vocabulary: model.vocab.toJSON(),
    training,
    metrics: meta.metrics,
    provenance: meta.provenance,
    weightsSha256: sha256(weightBytes),
    weightsManifest: [{ paths: [BUNDLE_WEIGHTS_FILE], weights: specs }],
  };
  const text = JSON.stringify(json, null, 1);
  await installBundleDir(dir, async (tmp) => {
    await writeFileSynced(path.join(tmp, BUNDLE_WEIGHTS_FILE), weightBytes);
    await writeFileSynced(path.join(tmp, BUNDLE_MODEL_FILE), text);
  });
  return { dir, weightsBytes: weightBytes.byteLength, modelJsonBytes: Buffer.byteLength(text) };
}

/** Installs the bundle in `source` (its two files, bytes unchanged) as `dir`, in one atomic swap like `saveBundle`. */
export async function copyBundle(source: string, dir: string): Promise<void> {
  await installBundleDir(dir, async (tmp) => {
    for (const file of [BUNDLE_WEIGHTS_FILE, BUNDLE_MODEL_FILE]) {
      await writeFileSynced(path.join(tmp, file), await readFile(path.join(source, file)));
    }
  });
}

/** The one sub-folder a model folder may hold: the CLI's training run (`train --out DIR` checkpoints into DIR/checkpoints). */
const RUN_FOLDER = 'checkpoints';

/**
 * Replaces the folder `dir` by a fresh one that `write` fills with a bundle. What else the old folder held — plain
 * files (a user's notes beside a model written with --out) and the CLI's `checkpoints/` run folder — is carried over
 * (hard-linked, not copied); temporary files of our own that a killed save left are not. A folder holding any other
 * sub-folder is refused rather than replaced: it is not a model folder.
 */
async function installBundleDir(dir: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const folder = entries.find((e) => e.isDirectory() && e.name !== RUN_FOLDER);
  if (folder) throw new Error(`${dir}: holds the folder ${folder.name}, so it is not a model folder: write the model into an empty or model folder`);
  const extras = entries.filter((e) => (e.isFile() || e.isDirectory()) && e.name !== BUNDLE_MODEL_FILE && e.name !== BUNDLE_WEIGHTS_FILE && !isOurTempFile(e.name));
  await replaceDirAtomic(dir, async (tmp) => {
    for (const e of extras) await linkTree(path.join(dir, e.name), path.join(tmp, e.name));
    await write(tmp);
  });
}

/**
 * Runs `read` on the folder holding `dir`'s complete bundle (the folder itself, or its moved-aside copy in the
 * instant of a swap); a read that meets a swap in progress (files gone, or a pair from two saves) is tried again.
 */
async function readStable<T>(dir: string, read: (from: string) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const from = (await readableDir(dir)) ?? dir;
    try {
      return await read(from);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

/** Reads a bundle directory into a CaptionModel (new variables: `disposeCaptionModel` when done). */
export async function loadBundle(dir: string): Promise<CaptionModel> {
  return readStable(dir, (from) => loadBundleFrom(from, dir));
}

async function loadBundleFrom(from: string, dir: string): Promise<CaptionModel> {
  const modelPath = path.join(from, BUNDLE_MODEL_FILE);
  const json = await readJson(modelPath);
  const parsed = parseModelJson(json, modelPath);
  const weightsFile = parsed.weightsManifest[0]!.paths;
  if (weightsFile.length !== 1 || weightsFile[0] !== BUNDLE_WEIGHTS_FILE) {
    throw new Error(`${modelPath}: expects weights in one file named ${BUNDLE_WEIGHTS_FILE}, manifest names ${JSON.stringify(weightsFile)}`);
  }
  const weightsPath = path.join(from, BUNDLE_WEIGHTS_FILE);
  let bytes: Buffer;
  try {
    bytes = await readFile(weightsPath);
  } catch (err) {
    throw new Error(`${weightsPath}: cannot read model weights (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return captionModelFromArtifacts(json, buffer, dir);
}

/** Reads a bundle's model.json only (no weights). */
export async function readBundleInfo(dir: string): Promise<BundleInfo> {
  return readStable(dir, (from) => readBundleInfoFrom(from));
}

async function readBundleInfoFrom(dir: string): Promise<BundleInfo> {
  const modelPath = path.join(dir, BUNDLE_MODEL_FILE);
  const parsed = parseModelJson(await readJson(modelPath), modelPath);
  const vocab = Vocabulary.fromJSON(parsed.vocabulary, `${modelPath}: vocabulary`);
  const q = parsed.weightsManifest[0]!.weights[0]?.quantization?.dtype;
  return {
    name: parsed.name,
    encoderId: parsed.encoderId,
    config: parsed.decoder,
    vocabularySize: vocab.size,
    metadata: metadataOf(parsed, modelPath),
    weightStorage: q === 'float16' ? 'float16' : q === 'uint8' ? 'uint8' : 'float32',
  };
}

/**
 * Builds a CaptionModel from a bundle's model.json value and weights.bin bytes, with no file system: the part a
 * browser can use after fetching both. `source` names the bundle in error messages.
 */
export function captionModelFromArtifacts(modelJson: unknown, weightsData: ArrayBuffer, source: string): CaptionModel {
  const where = `${source}/${BUNDLE_MODEL_FILE}`;
  const parsed = parseModelJson(modelJson, where);
  const vocab = Vocabulary.fromJSON(parsed.vocabulary, `${where}: vocabulary`);
  const config: DecoderConfig = parsed.decoder;
  if (vocab.size !== config.vocabSize) {
    throw new Error(`${where}: vocabulary has ${vocab.size} tokens, decoder.vocabSize is ${config.vocabSize}`);
  }
  if (parsed.weightsSha256 !== undefined && sha256(new Uint8Array(weightsData)) !== parsed.weightsSha256) {
    throw new Error(`${source}/${BUNDLE_WEIGHTS_FILE}: does not match model.json (checksum differs; damaged or from another save)`);
  }
  const specs = parsed.weightsManifest[0]!.weights as tf.io.WeightsManifestEntry[];
  const shapes = decoderWeightShapes(config);
  let expectedBytes = 0;
  for (const s of specs) {
    const q = s.quantization?.dtype;
    expectedBytes += s.shape.reduce((a, b) => a * b, 1) * (q === 'uint8' ? 1 : q === 'float16' || q === 'uint16' ? 2 : 4);
  }
  if (weightsData.byteLength !== expectedBytes) {
    throw new Error(`${source}/${BUNDLE_WEIGHTS_FILE}: holds ${weightsData.byteLength} bytes, model.json describes ${expectedBytes}`);
  }
  for (const name of DECODER_WEIGHT_NAMES) {
    const spec = specs.find((s) => s.name === name);
    if (!spec) throw new Error(`${where}: weightsManifest has no weight named ${name}`);
    if (!tf.util.arraysEqual(spec.shape, shapes[name])) {
      throw new Error(`${where}: weight ${name} has shape [${spec.shape}], the decoder config needs [${shapes[name]}]`);
    }
  }
  const decoded = tf.io.decodeWeights(weightsData, specs);
  const weights = {} as Record<(typeof DECODER_WEIGHT_NAMES)[number], tf.Variable>;
  for (const name of DECODER_WEIGHT_NAMES) {
    weights[name] = tf.variable(decoded[name]!, false);
  }
  tf.dispose(Object.values(decoded));
  return {
    config,
    vocab,
    weights: weights as DecoderWeights,
    encoderId: parsed.encoderId,
    metadata: metadataOf(parsed, where),
    source,
  };
}

type ParsedModelJson = z.infer<typeof modelJsonSchema>;

function parseModelJson(json: unknown, where: string): ParsedModelJson {
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== BUNDLE_FORMAT) {
    throw new Error(`${where}: not a Caption Studio model (format is ${JSON.stringify(format ?? null)}, expected "${BUNDLE_FORMAT}")`);
  }
  const version = (json as { formatVersion?: unknown }).formatVersion;
  if (typeof version === 'number' && version > BUNDLE_VERSION) {
    throw new Error(`${where}: model format version ${version} is newer than this app reads (${BUNDLE_VERSION}); update Caption Studio`);
  }
  const parsed = modelJsonSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${where}: invalid model.json (${issue.path.join('.') || 'root'}: ${issue.message})`);
  }
  return parsed.data;
}

function metadataOf(parsed: ParsedModelJson, where: string): ModelMetadata {
  let training: TrainingSummary | undefined;
  if (parsed.training) {
    const t = parsed.training;
    const config = parseTrainConfig(t.config, `${where}: training.config`);
    training = {
      config,
      // The schedules are stored beside the config for readers of the JSON; the config is the authority.
      schedule: config.schedule,
      learningRate: config.learningRate,
      history: t.history,
      batchLog: t.batchLog,
      best: t.best,
      stoppedBy: t.stoppedBy,
    };
  }
  return {
    name: parsed.name,
    createdAt: parsed.createdAt,
    training,
    metrics: parsed.metrics,
    provenance: parsed.provenance,
  };
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${file}: ${code === 'ENOENT' ? 'no model here (file not found)' : `cannot read (${code ?? String(err)})`}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
