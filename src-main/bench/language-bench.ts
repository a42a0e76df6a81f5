/**
 * Speed of the language side, which runs in plain TypeScript around the network:
 * - `tokenize_vocab`: tokenising every COCO caption of ../shared and building the vocabulary (min count 5);
 * - `evaluate`: evaluateCaptions (BLEU-1…4, ROUGE-L, CIDEr-D) with each image's first human caption as the
 *   hypothesis and the others as references — also a sanity check of the metrics: human-vs-human scores on the
 *   COCO server are about BLEU-4 0.22, ROUGE-L 0.48, CIDEr-D 0.85 (c5);
 * - `beam_overhead`: beam search bookkeeping (top-k, n-gram blocking, state reordering) over a step model that
 *   only hands back precomputed log-probs, so the time is the decoding code's own cost per image.
 *
 * Standalone: `npx tsx src-main/bench/language-bench.ts [--captions ../shared/data/coco/captions.json]` prints
 * one JSON line per measurement. `runLanguageBench()` returns them.
 */
import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { beamSearch } from '../engine/decode.ts';
import { evaluateCaptions } from '../engine/metrics/evaluate.ts';
import type { StepModel } from '../engine/model-types.ts';
import { tokenize } from '../text/tokenize.ts';
import { Vocabulary } from '../engine/vocab.ts';
import { Rng } from '../util/rng.ts';
import { round } from './stats.ts';

/** One result line. */
export type LanguageBenchResult =
  | { readonly bench: 'tokenize_vocab'; readonly captions: number; readonly vocab_size: number; readonly ms: number }
  | {
      readonly bench: 'evaluate';
      readonly images: number;
      readonly ms: number;
      readonly bleu1: number;
      readonly bleu4: number;
      readonly rougeL: number;
      readonly ciderD: number;
    }
  | {
      readonly bench: 'beam_overhead';
      readonly rows: number;
      readonly beam: number;
      readonly V: number;
      readonly max_length: number;
      readonly ms_per_image: number;
    };

/** Where the captions come from and the beam-search sizes. */
export interface LanguageBenchOptions {
  /** COCO-format captions file (default ../shared/data/coco/captions.json beside the project). */
  readonly captionsPath?: string;
  readonly rows?: number;
  readonly beamSizes?: readonly number[];
  readonly vocabSize?: number;
  readonly maxLength?: number;
}

const DEFAULT_CAPTIONS = new URL('../../../shared/data/coco/captions.json', import.meta.url);

/** Runs the three measurements. */
export async function runLanguageBench(options: LanguageBenchOptions = {}): Promise<LanguageBenchResult[]> {
  const results: LanguageBenchResult[] = [];
  const byImage = await readCocoCaptions(options.captionsPath ?? DEFAULT_CAPTIONS);
  const all = [...byImage.values()].flat();

  let t0 = performance.now();
  const vocab = Vocabulary.build(all.map(tokenize), { minCount: 5 });
  results.push({ bench: 'tokenize_vocab', captions: all.length, vocab_size: vocab.size, ms: round(performance.now() - t0) });

  const refs = new Map<string, string[]>();
  const hyps = new Map<string, string>();
  for (const [id, captions] of byImage) {
    if (captions.length < 2) continue;
    hyps.set(id, captions[0]!);
    refs.set(id, captions.slice(1));
  }
  t0 = performance.now();
  const scores = evaluateCaptions(refs, hyps);
  results.push({
    bench: 'evaluate',
    images: hyps.size,
    ms: round(performance.now() - t0),
    bleu1: round(scores.bleu1, 4),
    bleu4: round(scores.bleu4, 4),
    rougeL: round(scores.rougeL, 4),
    ciderD: round(scores.ciderD, 4),
  });

  const rows = options.rows ?? 32;
  const V = options.vocabSize ?? vocab.size;
  const maxLength = options.maxLength ?? 16;
  for (const beamSize of options.beamSizes ?? [1, 3, 5]) {
    const model = new TableStepModel(rows, V, new Rng(beamSize));
    beamSearch(model, { beamSize, maxLength, blockRepeatedNgram: 2 }); // warm-up
    const repeats = 3;
    t0 = performance.now();
    for (let i = 0; i < repeats; i++) beamSearch(model, { beamSize, maxLength, blockRepeatedNgram: 2 });
    const ms = (performance.now() - t0) / repeats;
    results.push({ bench: 'beam_overhead', rows, beam: beamSize, V, max_length: maxLength, ms_per_image: round(ms / rows, 3) });
  }
  return results;
}

/**
 * A step model without a network: a fixed table of random log-prob rows (skewed so <end> becomes likely after
 * ~10 steps), picked by step count and row, so the bench times only the decoding code.
 */
class TableStepModel implements StepModel<{ readonly t: number; readonly rows: number }> {
  private readonly table: Float32Array[] = [];
  constructor(
    readonly rows: number,
    readonly vocabSize: number,
    rng: Rng,
  ) {
    for (let t = 0; t < 24; t++) {
      const row = new Float32Array(vocabSize);
      let max = -Infinity;
      for (let v = 0; v < vocabSize; v++) max = Math.max(max, (row[v] = rng.next() * 8 - (v === 2 ? 10 - t : 0)));
      let sum = 0;
      for (let v = 0; v < vocabSize; v++) sum += Math.exp(row[v]! - max);
      const z = Math.log(sum) + max;
      for (let v = 0; v < vocabSize; v++) row[v]! -= z;
      this.table.push(row);
    }
  }
  initialState(): { t: number; rows: number } {
    return { t: 0, rows: this.rows };
  }
  step(tokens: Int32Array, state: { t: number; rows: number }): { logProbs: Float32Array; state: { t: number; rows: number } } {
    const logProbs = new Float32Array(tokens.length * this.vocabSize);
    for (let i = 0; i < tokens.length; i++) logProbs.set(this.table[(state.t + i + tokens[i]!) % this.table.length]!, i * this.vocabSize);
    return { logProbs, state: { t: state.t + 1, rows: tokens.length } };
  }
  select(state: { t: number; rows: number }, rows: Int32Array): { t: number; rows: number } {
    return { t: state.t, rows: rows.length };
  }
  dispose(): void {}
}

async function readCocoCaptions(file: string | URL): Promise<Map<string, string[]>> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new Error(`${String(file)}: cannot read captions (${err.code ?? err.message})`);
  });
  const json = JSON.parse(text) as { annotations?: { image_id: number | string; caption: string }[] };
  if (!Array.isArray(json.annotations)) throw new Error(`${String(file)}: no COCO "annotations" array`);
  const byImage = new Map<string, string[]>();
  for (const a of json.annotations) {
    const id = String(a.image_id);
    byImage.set(id, [...(byImage.get(id) ?? []), a.caption]);
  }
  return byImage;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--captions');
  const captionsPath = at > 0 ? process.argv[at + 1] : undefined;
  for (const line of await runLanguageBench(captionsPath ? { captionsPath } : {})) console.log(JSON.stringify(line));
}
