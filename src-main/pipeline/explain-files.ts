/**
 * What `caption --explain DIR` writes per image: `<name>.explain.json` (the caption and, per word, its probability,
 * the top-5 alternatives, the gate means, the top units and its heat map, naming the overlay file) and one
 * `<name>.<k>-<word>.png` heat-map overlay per word (k from 1). Files are written atomically; `<name>` is the
 * image's file name without its extension, made unique within the run (`photo`, `photo-2`, …).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { heatmapOverlayPng } from '../data/heatmap-overlay.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { ImageExplanation } from './explain-image.ts';

/** The version of the `.explain.json` layout. */
export const EXPLAIN_FILE_VERSION = 1;

/** Picks unique base names for the images of one run. */
export class ExplainNames {
  private readonly used = new Set<string>();

  /** `photo` for `…/photo.jpg`, then `photo-2`, `photo-3` … for later images of the same name. */
  next(imagePath: string): string {
    const base = path.basename(imagePath, path.extname(imagePath)) || 'image';
    let name = base;
    for (let k = 2; this.used.has(name.toLowerCase()); k++) name = `${base}-${k}`;
    this.used.add(name.toLowerCase());
    return name;
  }
}

/** A word as it may appear in a file name (letters and digits kept, anything else "_"). */
export function fileSafeWord(word: string): string {
  return word.normalize('NFC').replace(/[^\p{L}\p{N}]+/gu, '_').slice(0, 40) || '_';
}

/** Writes the explanation's JSON and overlays into `dir`; returns the paths written, JSON first. */
export async function writeExplanationFiles(dir: string, name: string, explanation: ImageExplanation, meta: { readonly model: string }): Promise<string[]> {
  const image = await readFile(explanation.path);
  const written: string[] = [];
  const words = [];
  for (const w of explanation.words) {
    const file = `${name}.${w.index + 1}-${fileSafeWord(w.word)}.png`;
    const target = path.join(dir, file);
    await writeFileAtomic(target, await heatmapOverlayPng(image, w.heatmap));
    written.push(target);
    words.push({
      index: w.index,
      word: w.word,
      probability: round(w.probability),
      alternatives: w.alternatives.map((a) => ({ word: a.word, probability: round(a.probability) })),
      gates: { input: round(w.gates.input), forget: round(w.gates.forget), output: round(w.gates.output), cellChange: round(w.gates.cellChange) },
      topUnits: w.topUnits.map((u) => ({
        unit: u.unit,
        activation: round(u.activation),
        ...(u.words ? { words: u.words.map((x) => x.word) } : {}),
      })),
      heatmap: { width: w.heatmap.width, height: w.heatmap.height, values: w.heatmap.values.map(round) },
      heatmapFile: file,
    });
  }
  const json = {
    version: EXPLAIN_FILE_VERSION,
    image: path.resolve(explanation.path),
    caption: explanation.caption,
    model: meta.model,
    encoder: explanation.encoderId,
    method: explanation.method,
    endProbability: round(explanation.endProbability),
    words,
  };
  const jsonFile = path.join(dir, `${name}.explain.json`);
  await writeFileAtomic(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  return [jsonFile, ...written];
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
