/**
 * `caption-studio units` and `caption --explain DIR` end to end, with a toy model the CLI trains here on the shapes
 * dataset: the unit meanings' word counts are the dataset's, and the explain files hold, per image, a caption
 * whose word and <end> probabilities multiply to the score beam search gave it, with a valid heat-map overlay per word.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SHAPES_TRAINING, jsonLines, runCli, shapeJpeg, tempDir, writeShapesDataset } from './cli-fixtures.ts';

/** How often each word is written over the shapes dataset's 96 captions (two per picture). */
const WORD_COUNTS: Readonly<Record<string, number>> = { a: 144, on: 96, background: 48, '<end>': 96, red: 24, circle: 32, white: 48 };

const probability = z.number().min(0).max(1);
const explainFile = z.object({
  version: z.literal(1),
  image: z.string(),
  caption: z.string(),
  model: z.string(),
  encoder: z.string(),
  method: z.literal('grad-cam'),
  endProbability: probability,
  words: z.array(
    z.object({
      index: z.number().int().min(0),
      word: z.string().min(1),
      probability,
      alternatives: z.array(z.object({ word: z.string(), probability })).length(5),
      gates: z.object({ input: probability, forget: probability, output: probability, cellChange: z.number().min(0) }),
      topUnits: z.array(z.object({ unit: z.number().int().min(0).max(31), activation: z.number().min(-1).max(1), words: z.array(z.string()).min(1) })).min(1),
      heatmap: z.object({ width: z.literal(7), height: z.literal(7), values: z.array(z.number().min(0).max(1)).length(49) }),
      heatmapFile: z.string(),
    }),
  ),
});

const unitsJson = z.object({
  hiddenDim: z.literal(32),
  captions: z.number(),
  units: z.array(z.object({ unit: z.number(), words: z.array(z.object({ word: z.string(), activation: z.number(), count: z.number() })) })),
});

let root: string;
let cleanup: () => Promise<void>;
let modelDir: string;
let dataset: string;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('cs-cli-explain-'));
  dataset = path.join(root, 'shapes');
  await writeShapesDataset(dataset, { variants: 2 });
  modelDir = path.join(root, 'model');
  const trained = await runCli(['train', dataset, '--out', modelDir, '--cache', path.join(root, 'cache'), '--name', 'shapes', ...SHAPES_TRAINING]);
  if (trained.code !== 0) throw new Error(`training the test model failed:\n${trained.stderr}`);
}, 240_000);

afterAll(async () => cleanup?.());

describe('caption-studio units', () => {
  it("prints each unit's top words, counted over the dataset's captions, and saves them beside the model", async () => {
    const r = await runCli(['units', modelDir, dataset, '--top', '4', '--json', '--cache', path.join(root, 'cache')]);
    expect(r.code, r.stderr).toBe(0);
    const meanings = unitsJson.parse(JSON.parse(r.stdout));
    // 48 pictures × 2 captions: "a red circle on a white background", "a red circle on white".
    expect(meanings.captions).toBe(96);
    expect(meanings.units).toHaveLength(32);
    const checked = new Set<string>();
    for (const u of meanings.units) {
      expect(u.words).toHaveLength(4);
      const acts = u.words.map((w) => w.activation);
      expect([...acts].sort((a, b) => b - a)).toEqual(acts);
      for (const w of u.words) {
        if (WORD_COUNTS[w.word] === undefined) continue;
        expect(w.count, w.word).toBe(WORD_COUNTS[w.word]);
        checked.add(w.word);
      }
    }
    expect(checked.size).toBeGreaterThanOrEqual(3);
    expect(existsSync(path.join(modelDir, 'unit-words.json'))).toBe(true);
    expect(r.stderr).toMatch(/96 captions; saved to .*unit-words\.json/);

    const text = await runCli(['units', modelDir, dataset, '--top', '2', '--no-save', '-q', '--cache', path.join(root, 'cache')]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines).toHaveLength(32);
    expect(lines[0]).toMatch(/^unit  0  \S+ -?\d\.\d\d, \S+ -?\d\.\d\d$/);
  });
});

describe('caption-studio caption --explain', () => {
  it('writes <name>.explain.json and one <name>.<k>-<word>.png per word, consistent with the caption', async () => {
    const images = path.join(root, 'new');
    const out = path.join(root, 'explained');
    await mkdir(images);
    const keep = [path.join(images, 'red circle.jpg'), path.join(images, 'blue-square.jpg')];
    await writeFile(keep[0]!, await shapeJpeg('circle', 'red', 'white', 2));
    await writeFile(keep[1]!, await shapeJpeg('square', 'blue', 'black', 2));
    // A picture that cannot be read is reported and the rest goes on.
    await writeFile(path.join(images, 'broken.jpg'), (await shapeJpeg('circle', 'red', 'white')).subarray(0, 500));
    const r = await runCli(['caption', ...keep, path.join(images, 'broken.jpg'), '--model', modelDir, '--json', '--explain', out]);
    expect(r.code, r.stderr).toBe(0);
    const lines = jsonLines(r.stdout) as { path: string; caption?: string; score?: number; error?: string }[];
    expect(lines.filter((l) => l.error)).toHaveLength(1);
    expect(lines.filter((l) => l.caption)).toHaveLength(2);
    expect(r.stderr).not.toMatch(/cannot explain/);
    for (const line of lines.filter((l) => l.caption)) {
      const name = path.basename(line.path, '.jpg');
      expect(['red circle', 'blue-square']).toContain(name);
      const file = explainFile.parse(JSON.parse(await readFile(path.join(out, `${name}.explain.json`), 'utf8')));
      expect(file.caption).toBe(line.caption);
      expect(file.image).toBe(path.resolve(line.path));
      expect(file.words.map((w) => w.word).join(' ')).toBe(line.caption);
      // Beam search's score is the mean log-probability of the words and <end>: the explanation's probabilities agree.
      const logs = [...file.words.map((w) => Math.log(w.probability)), Math.log(file.endProbability)];
      expect(logs.reduce((a, b) => a + b, 0) / logs.length).toBeCloseTo(line.score!, 2);
      for (const [k, w] of file.words.entries()) {
        expect(w.index).toBe(k);
        expect(w.heatmapFile).toBe(`${name}.${k + 1}-${w.word}.png`);
        // The top alternative is at least as probable as the chosen word, and the list is sorted.
        expect(w.alternatives[0]!.probability).toBeGreaterThanOrEqual(w.probability - 1e-4);
        const ps = w.alternatives.map((a) => a.probability);
        expect([...ps].sort((a, b) => b - a)).toEqual(ps);
        expect(Math.max(...w.heatmap.values) === 1 || w.heatmap.values.every((v) => v === 0)).toBe(true);
        const png = await sharp(path.join(out, w.heatmapFile)).metadata();
        expect([png.format, png.width, png.height]).toEqual(['png', 224, 224]);
      }
      const files = (await readdir(out)).filter((f) => f.startsWith(`${name}.`));
      expect(files.sort()).toEqual([`${name}.explain.json`, ...file.words.map((w) => w.heatmapFile)].sort());
    }
    expect(existsSync(path.join(out, 'broken.explain.json'))).toBe(false);
  });
});
