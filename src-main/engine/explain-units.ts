/**
 * Meanings of hidden units, the way the notes find interpretable cells: run the decoder over a dataset's
 * captions, teacher-forced, and record for each hidden unit the words at which it is most active.
 *
 * "At a word" means while the model writes it: h_t after reading w_t is the state that predicts w_{t+1}, and is
 * counted for w_{t+1} (<end> included) — the same step explain.ts reports as a word's "top units", so hovering
 * a unit in the app shows the words it fires for. A word's score for a unit is the unit's mean h over every
 * occurrence of the word (words seen fewer than `minCount` times are left out: one occurrence says little).
 *
 * The result is saved beside the model as `unit-words.json` (`caption-studio units` writes it; the app's explain
 * panel reads it).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { assertEncoderMatches, type CaptionModel } from './caption-model.ts';
import { createStepModel, type LstmState } from './decoder.ts';
import { END, START } from './model-types.ts';

/** The file, in a model folder, that holds its unit meanings. */
export const UNIT_WORDS_FILE = 'unit-words.json';

export interface UnitWord {
  readonly word: string;
  /** The unit's mean h when the model writes this word. */
  readonly activation: number;
  /** How often the word was written (teacher-forced) over the captions. */
  readonly count: number;
}

export interface UnitMeaning {
  readonly unit: number;
  /** Most active first. */
  readonly words: readonly UnitWord[];
}

export interface UnitMeanings {
  readonly format: 'caption-studio-unit-words';
  readonly version: 1;
  readonly encoderId: string;
  readonly hiddenDim: number;
  /** The model's `metadata.createdAt`: meanings saved for another model in the same folder are not used. */
  readonly modelCreatedAt: string;
  /** Where the captions came from (free text: a dataset path). */
  readonly source: string;
  readonly captions: number;
  readonly minCount: number;
  readonly units: readonly UnitMeaning[];
}

const unitMeaningsSchema = z.object({
  format: z.literal('caption-studio-unit-words'),
  version: z.literal(1),
  encoderId: z.string(),
  hiddenDim: z.number().int().positive(),
  modelCreatedAt: z.string(),
  source: z.string(),
  captions: z.number().int().min(0),
  minCount: z.number().int().min(1),
  units: z.array(z.object({ unit: z.number().int().min(0), words: z.array(z.object({ word: z.string(), activation: z.number(), count: z.number().int() })) })),
});

/** One image and its tokenised captions. */
export interface UnitExample {
  readonly features: Float32Array;
  readonly captions: readonly (readonly string[])[];
}

export interface UnitMeaningOptions {
  readonly encoderId: string;
  /** Words kept per unit (default 10). */
  readonly top?: number;
  /** Least occurrences of a word (default 3). */
  readonly minCount?: number;
  readonly source?: string;
  /** Captions run together (default 64). */
  readonly batchSize?: number;
}

/** Unit meanings of `model` over the captions of `examples` (see the module comment). Leaves no tensors behind. */
export function unitMeanings(model: CaptionModel, examples: readonly UnitExample[], options: UnitMeaningOptions): UnitMeanings {
  assertEncoderMatches(model, options.encoderId);
  const { hiddenDim: H, vocabSize: V, featureDim: F } = model.config;
  const top = options.top ?? 10;
  const minCount = options.minCount ?? 3;
  const batchSize = options.batchSize ?? 64;
  const rows: { features: Float32Array; tokens: Int32Array }[] = [];
  for (const ex of examples) {
    if (ex.features.length !== F) throw new Error(`unit meanings: an image has ${ex.features.length} feature values, the model expects ${F}`);
    for (const caption of ex.captions) if (caption.length > 0) rows.push({ features: ex.features, tokens: model.vocab.encode(caption) });
  }
  const sums = new Float64Array(V * H);
  const counts = new Float64Array(V);
  for (let start = 0; start < rows.length; start += batchSize) {
    const batch = rows.slice(start, start + batchSize);
    const features = tf.tensor2d(concat(batch.map((r) => r.features), F), [batch.length, F]);
    try {
      accumulate(model, features, batch.map((r) => r.tokens), sums, counts);
    } finally {
      features.dispose();
    }
  }
  const units: UnitMeaning[] = [];
  for (let u = 0; u < H; u++) {
    const words: UnitWord[] = [];
    for (let w = END; w < V; w++) {
      if (counts[w]! < minCount) continue;
      words.push({ word: model.vocab.token(w), activation: sums[w * H + u]! / counts[w]!, count: counts[w]! });
    }
    words.sort((a, b) => b.activation - a.activation);
    units.push({ unit: u, words: words.slice(0, top) });
  }
  return { format: 'caption-studio-unit-words', version: 1, encoderId: options.encoderId, hiddenDim: H, modelCreatedAt: model.metadata.createdAt, source: options.source ?? '', captions: rows.length, minCount, units };
}

/** Teacher-forces one batch of captions, adding each step's h to the row of the word it writes. */
function accumulate(model: CaptionModel, features: tf.Tensor2D, captions: readonly Int32Array[], sums: Float64Array, counts: Float64Array): void {
  const H = model.config.hiddenDim;
  const steps = Math.max(...captions.map((c) => c.length)) + 1;
  const step = createStepModel(model.weights, model.config, features);
  let state: LstmState = step.initialState();
  try {
    for (let t = 0; t < steps; t++) {
      // Rows whose caption has ended are fed <end> and ignored.
      const inputs = Int32Array.from(captions, (c) => (t === 0 ? START : t <= c.length ? c[t - 1]! : END));
      const next = step.step(inputs, state).state;
      step.dispose(state);
      state = next;
      const h = state.h.dataSync() as Float32Array;
      captions.forEach((c, r) => {
        if (t > c.length) return;
        const target = t < c.length ? c[t]! : END;
        counts[target]!++;
        const off = target * H;
        for (let u = 0; u < H; u++) sums[off + u]! += h[r * H + u]!;
      });
    }
  } finally {
    step.dispose(state);
  }
}

function concat(rows: readonly Float32Array[], F: number): Float32Array {
  const out = new Float32Array(rows.length * F);
  rows.forEach((r, i) => out.set(r, i * F));
  return out;
}

/** Saves unit meanings in a model folder (atomically). */
export async function saveUnitMeanings(modelDir: string, meanings: UnitMeanings): Promise<string> {
  const file = path.join(modelDir, UNIT_WORDS_FILE);
  await writeFileAtomic(file, `${JSON.stringify(meanings)}\n`);
  return file;
}

/**
 * The unit meanings saved in a model folder, or null when there are none or they were computed for another model
 * (an earlier one in that folder: another creation date, hidden size or encoder). A malformed file is a one-line error.
 */
export async function loadUnitMeanings(modelDir: string, model: Pick<CaptionModel, 'encoderId' | 'config' | 'metadata'>): Promise<UnitMeanings | null> {
  const file = path.join(modelDir, UNIT_WORDS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${file}: cannot read (${(err as Error).message.split('\n')[0]})`);
  }
  let parsed: UnitMeanings;
  try {
    parsed = unitMeaningsSchema.parse(JSON.parse(text)) as UnitMeanings;
  } catch (err) {
    throw new Error(`${file}: not a unit-words file (${(err as Error).message.split('\n')[0]})`);
  }
  if (parsed.hiddenDim !== model.config.hiddenDim || parsed.encoderId !== model.encoderId || parsed.modelCreatedAt !== model.metadata.createdAt) return null;
  return parsed;
}
