/**
 * Training checkpoints: a directory holding `checkpoint.json` (config, vocabulary, counters, RNG states, history)
 * and `weights.bin` (decoder weights and Adam's moments, TF.js weights format, float32). The directory is
 * replaced as a whole (written beside it, then renamed into place), so a crash never leaves a torn checkpoint.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { replaceDirAtomic, writeFileSynced } from '../util/atomic-dir.ts';
import type { RngState } from '../util/rng.ts';
import { decoderConfigSchema } from './decoder-config.ts';
import type { DecoderConfig } from './model-types.ts';
import { parseTrainConfig, type TrainConfig } from './train-config.ts';
import {
  batchRecordSchema,
  bestRecordSchema,
  epochRecordSchema,
  type BatchRecord,
  type BestRecord,
  type EpochRecord,
} from './train-history.ts';

export const CHECKPOINT_FORMAT = 'caption-studio-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const CHECKPOINT_FILE = 'checkpoint.json';
export const CHECKPOINT_WEIGHTS_FILE = 'weights.bin';

/** Where training stands: the next mini-batch to run is batch `batchInEpoch` of (0-based) epoch `epoch`. */
export interface TrainPosition {
  readonly epoch: number;
  readonly batchInEpoch: number;
  /** Mini-batches done in the whole run: the next one's global index i. */
  readonly globalBatch: number;
  /** Running sums of the current epoch (so a resumed epoch reports the same mean loss). */
  readonly epochLossSum: number;
  readonly epochTokens: number;
  readonly epochSeconds: number;
}

/** Everything in a checkpoint besides the tensors. */
export interface CheckpointMeta {
  readonly config: TrainConfig;
  readonly decoderConfig: DecoderConfig;
  /** The vocabulary's own JSON form (`Vocabulary.toJSON()`). */
  readonly vocabulary: unknown;
  readonly encoderId: string;
  /** Hash of the training data, so resuming on other data is refused. */
  readonly dataFingerprint: string;
  readonly position: TrainPosition;
  /**
   * `shuffle`: the shuffling generator's state before the current epoch's shuffle (resuming re-derives the same
   * order from it); `step`: the dropout / scheduled-sampling generator's state before the next mini-batch.
   */
  readonly rng: { readonly shuffle: RngState; readonly step: RngState };
  readonly history: readonly EpochRecord[];
  readonly batchLog: readonly BatchRecord[];
  readonly best: BestRecord | null;
  readonly epochsWithoutImprovement: number;
  /** True once the run has ended (all epochs, or early stopping): resuming it trains no further. */
  readonly finished: boolean;
}

/** Tensors of a checkpoint: decoder weights and Adam's state. */
export interface CheckpointTensors {
  readonly weights: Readonly<Record<string, tf.Tensor>>;
  readonly adam: {
    readonly step: number;
    readonly m: Readonly<Record<string, tf.Tensor>>;
    readonly v: Readonly<Record<string, tf.Tensor>>;
  };
}

export interface LoadedCheckpoint {
  readonly meta: CheckpointMeta;
  readonly savedAt: string;
  /** New tensors: the caller disposes them (`disposeCheckpointTensors`). */
  readonly tensors: CheckpointTensors;
}

const rngStateSchema = z.tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int()]);

const weightsEntrySchema = z.object({
  name: z.string(),
  shape: z.array(z.number().int().min(0)),
  dtype: z.enum(['float32', 'int32', 'bool', 'string', 'complex64']),
});

const checkpointFileSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  formatVersion: z.literal(CHECKPOINT_VERSION),
  savedAt: z.string(),
  config: z.unknown(),
  decoderConfig: decoderConfigSchema,
  vocabulary: z.unknown(),
  encoderId: z.string().min(1),
  dataFingerprint: z.string(),
  position: z.object({
    epoch: z.number().int().min(0),
    batchInEpoch: z.number().int().min(0),
    globalBatch: z.number().int().min(0),
    epochLossSum: z.number(),
    epochTokens: z.number(),
    epochSeconds: z.number(),
  }),
  rng: z.object({ shuffle: rngStateSchema, step: rngStateSchema }),
  adamStep: z.number().int().min(0),
  history: z.array(epochRecordSchema),
  batchLog: z.array(batchRecordSchema),
  best: bestRecordSchema.nullable(),
  epochsWithoutImprovement: z.number().int().min(0),
  finished: z.boolean(),
  weightsManifest: z.array(z.object({ paths: z.array(z.string()), weights: z.array(weightsEntrySchema) })).length(1),
});

const WEIGHT = 'weight/';
const ADAM_M = 'adam_m/';
const ADAM_V = 'adam_v/';

/** Writes a checkpoint directory, replacing any previous one at `dir` in one rename. */
export async function saveCheckpoint(dir: string, meta: CheckpointMeta, tensors: CheckpointTensors): Promise<void> {
  const named: { name: string; tensor: tf.Tensor }[] = [];
  for (const [prefix, group] of [
    [WEIGHT, tensors.weights],
    [ADAM_M, tensors.adam.m],
    [ADAM_V, tensors.adam.v],
  ] as const) {
    for (const name of Object.keys(group).sort()) named.push({ name: prefix + name, tensor: group[name]! });
  }
  const { data, specs } = await tf.io.encodeWeights(named);
  const bytes = new Uint8Array(data as ArrayBuffer);
  const file = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_VERSION,
    savedAt: new Date().toISOString(),
    ...meta,
    adamStep: tensors.adam.step,
    weightsManifest: [{ paths: [CHECKPOINT_WEIGHTS_FILE], weights: specs }],
  };
  const json = JSON.stringify(file, (_key, value: unknown) => {
    if (typeof value === 'number' && !Number.isFinite(value)) {
      throw new Error(`checkpoint ${dir}: refusing to save a non-finite number (${value})`);
    }
    return value;
  });
  await replaceDirAtomic(dir, async (tmp) => {
    await writeFileSynced(path.join(tmp, CHECKPOINT_WEIGHTS_FILE), bytes);
    await writeFileSynced(path.join(tmp, CHECKPOINT_FILE), json);
  });
}

/** Reads a checkpoint's metadata only (no tensors), e.g. to show a run's history. */
export async function readCheckpointMeta(dir: string): Promise<{ meta: CheckpointMeta; savedAt: string }> {
  const { meta, savedAt } = await readMetaFile(dir);
  return { meta, savedAt };
}

/** Reads a checkpoint directory; bad or missing files are one-line errors naming the file and the reason. */
export async function loadCheckpoint(dir: string): Promise<LoadedCheckpoint> {
  const { meta, savedAt, adamStep, specs } = await readMetaFile(dir);
  const weightsPath = path.join(dir, CHECKPOINT_WEIGHTS_FILE);
  let buffer: Buffer;
  try {
    buffer = await readFile(weightsPath);
  } catch (err) {
    throw new Error(`${weightsPath}: cannot read checkpoint weights (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (buffer.byteLength !== expected) {
    throw new Error(`${weightsPath}: holds ${buffer.byteLength} bytes, the manifest describes ${expected}`);
  }
  const ab = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
  const all = tf.io.decodeWeights(ab, specs);
  const weights: Record<string, tf.Tensor> = {};
  const m: Record<string, tf.Tensor> = {};
  const v: Record<string, tf.Tensor> = {};
  for (const [name, t] of Object.entries(all)) {
    if (name.startsWith(WEIGHT)) weights[name.slice(WEIGHT.length)] = t;
    else if (name.startsWith(ADAM_M)) m[name.slice(ADAM_M.length)] = t;
    else if (name.startsWith(ADAM_V)) v[name.slice(ADAM_V.length)] = t;
    else t.dispose();
  }
  return { meta, savedAt, tensors: { weights, adam: { step: adamStep, m, v } } };
}

/** Disposes the tensors `loadCheckpoint` returned. */
export function disposeCheckpointTensors(t: CheckpointTensors): void {
  for (const group of [t.weights, t.adam.m, t.adam.v]) for (const x of Object.values(group)) x.dispose();
}

async function readMetaFile(
  dir: string,
): Promise<{ meta: CheckpointMeta; savedAt: string; adamStep: number; specs: tf.io.WeightsManifestEntry[] }> {
  const file = path.join(dir, CHECKPOINT_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(`${file}: no checkpoint here (${code === 'ENOENT' ? 'file not found' : (code ?? String(err))})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = checkpointFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: not a Caption Studio checkpoint (${issue.path.join('.') || 'root'}: ${issue.message})`);
  }
  const f = parsed.data;
  const config = parseTrainConfig(f.config, `${file}: config`);
  const meta: CheckpointMeta = {
    config,
    decoderConfig: f.decoderConfig,
    vocabulary: f.vocabulary,
    encoderId: f.encoderId,
    dataFingerprint: f.dataFingerprint,
    position: f.position,
    rng: { shuffle: f.rng.shuffle, step: f.rng.step },
    history: f.history,
    batchLog: f.batchLog,
    best: f.best,
    epochsWithoutImprovement: f.epochsWithoutImprovement,
    finished: f.finished,
  };
  const manifest = f.weightsManifest[0]!;
  return { meta, savedAt: f.savedAt, adamStep: f.adamStep, specs: manifest.weights };
}
