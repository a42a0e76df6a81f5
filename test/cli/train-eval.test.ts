/**
 * `caption-studio train` → `info` → `eval` end to end, as child processes on the wasm backend, on a shapes
 * dataset made here: the trained toy model must name the shape of held-out pictures, and eval's numbers, its
 * predictions file and its nearest-neighbour baseline must agree with each other and with the dataset.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assignSplits, loadDataset } from '../../src-main/data/dataset.ts';
import { evaluateCaptions } from '../../src-main/engine/metrics/evaluate.ts';
import { SHAPES_TRAINING, kindNamed, runCli, tempDir, writeShapesDataset, type CliResult, type ShapeImage } from './cli-fixtures.ts';

interface Metrics {
  readonly bleu1: number;
  readonly bleu2: number;
  readonly bleu3: number;
  readonly bleu4: number;
  readonly rougeL: number;
  readonly ciderD: number;
}

interface EvalReport {
  readonly model: string;
  readonly dataset: string;
  readonly split: string;
  readonly images: number;
  readonly skipped: number;
  readonly metrics: Metrics;
  readonly nearestNeighbour?: Metrics;
}

let root: string;
let cleanup: () => Promise<void>;
let dataset: string;
let cache: string;
let modelDir: string;
let images: ShapeImage[];
let trained: CliResult;
const trainArgs = (): string[] => ['train', dataset, '--out', modelDir, '--cache', cache, '--name', 'shapes', ...SHAPES_TRAINING];

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('cs-cli-train-'));
  dataset = path.join(root, 'shapes');
  cache = path.join(root, 'cache');
  modelDir = path.join(root, 'model');
  images = await writeShapesDataset(dataset, { variants: 2 });
  trained = await runCli(trainArgs());
});

afterAll(async () => {
  await cleanup();
});

function expectMetricsInRange(m: Metrics): void {
  expect(Object.keys(m).sort()).toEqual(['bleu1', 'bleu2', 'bleu3', 'bleu4', 'ciderD', 'rougeL']);
  for (const key of ['bleu1', 'bleu2', 'bleu3', 'bleu4', 'rougeL'] as const) {
    expect(m[key]).toBeGreaterThanOrEqual(0);
    expect(m[key]).toBeLessThanOrEqual(1);
  }
  // CIDEr-D is ten times a mean cosine similarity (clipped, length-penalised): within [0, 10].
  expect(m.ciderD).toBeGreaterThanOrEqual(0);
  expect(m.ciderD).toBeLessThanOrEqual(10);
}

describe('train', () => {
  it('writes model.json and weights.bin into --out and says so', async () => {
    expect(trained.stderr).not.toMatch(/^\s+at /m);
    expect(trained.code).toBe(0);
    expect(existsSync(path.join(modelDir, 'model.json'))).toBe(true);
    expect(existsSync(path.join(modelDir, 'weights.bin'))).toBe(true);
    expect(trained.stderr).toMatch(/^training on \d+ images, validating on \d+ \(sidecar dataset /m);
    expect(trained.stderr).toMatch(/^epoch 30\/30: train loss \d+\.\d+, val loss \d+\.\d+/m);
    expect(trained.stderr).toContain(`done (epochs): best epoch `);
    expect(trained.stderr).toContain(`model written to ${modelDir}`);
    expect(trained.stdout).toBe('');
  });

  it('info --json shows the model, its training and the command that made it', async () => {
    const r = await runCli(['info', modelDir, '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, unknown> & { provenance: Record<string, unknown> };
    expect(info).toMatchObject({
      name: 'shapes',
      encoderId: 'mobilenet_v1_0.75_224/gap_conv_pw_13/fill224',
      decoder: { embedDim: 16, hiddenDim: 32, featureDim: 768, injection: 'every', dropout: 0 },
      // 12 words (a on background white black, 4 colours, 3 shapes) + PAD START END UNK.
      vocabularySize: 16,
      weights: 'float32',
      epochs: 30,
      stoppedBy: 'epochs',
      config: { epochs: 30, batchSize: 8, hiddenDim: 32, embedDim: 16, minWordCount: 1, seed: 1, schedule: { type: 'none' } },
    });
    expect(info.provenance).toMatchObject({
      command: ['caption-studio', ...trainArgs()].join(' '),
      dataset,
      format: 'sidecar',
      split: { seed: 1, valFraction: 0.2, testFraction: 0.2 },
      unreadableImages: 0,
      backend: 'wasm',
    });
    const { trainImages, valImages } = info.provenance as { trainImages: number; valImages: number };
    expect(trained.stderr).toContain(`training on ${trainImages} images, validating on ${valImages} `);
    expect(trainImages + valImages).toBeLessThan(images.length);
    expect(valImages).toBeGreaterThan(0);

    const text = await runCli(['info', modelDir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('decoder     E 16, H 32, V 16, F 768, injection every, dropout 0\n');
    expect(text.stdout).toContain(`command     caption-studio train ${dataset} --out ${modelDir}`);
  });
});

describe('eval', () => {
  it('--json scores the held-out test split; the table without --json shows the same numbers', async () => {
    const r = await runCli(['eval', modelDir, dataset, '--cache', cache, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as EvalReport;
    const info = JSON.parse((await runCli(['info', modelDir, '--json'])).stdout) as { provenance: { trainImages: number; valImages: number } };
    expect(report).toMatchObject({ model: modelDir, dataset, split: 'test', skipped: 0 });
    // Every picture is readable, so the test split is what train and val left.
    expect(report.images).toBe(images.length - info.provenance.trainImages - info.provenance.valImages);
    expectMetricsInRange(report.metrics);
    // The model names most shapes and a few colours: far above chance on unigrams.
    expect(report.metrics.bleu1).toBeGreaterThan(0.5);
    expect(report.nearestNeighbour).toBeUndefined();

    const table = await runCli(['eval', modelDir, dataset, '--cache', cache]);
    expect(table.code).toBe(0);
    const rows = table.stdout.split('\n');
    expect(rows[0]).toBe(`${report.images} images (test split of ${dataset})`);
    const labels: [keyof Metrics, string][] = [['bleu1', 'BLEU-1'], ['bleu2', 'BLEU-2'], ['bleu3', 'BLEU-3'], ['bleu4', 'BLEU-4'], ['rougeL', 'ROUGE-L'], ['ciderD', 'CIDEr-D']];
    for (const [key, label] of labels) {
      const row = rows.find((l) => l.startsWith(`${label} `));
      expect(row, label).toBeDefined();
      expect(Number(row!.slice(label.length).trim())).toBeCloseTo(report.metrics[key], 4);
    }
  });

  it('--predictions writes each test image caption beside its references, and the captions name the shapes', async () => {
    const out = path.join(root, 'predictions.csv');
    const r = await runCli(['eval', modelDir, dataset, '--cache', cache, '--json', '--predictions', out]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as EvalReport;
    const rows = parse(await readFile(out, 'utf8'), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(['path', 'caption', 'score', 'model', 'references']);
    expect(rows).toHaveLength(report.images);
    const byFile = new Map(images.map((img) => [img.file, img]));
    let named = 0;
    for (const row of rows) {
      const image = byFile.get(row.path!);
      expect(image, row.path).toBeDefined();
      expect(row.references!.split('\n')).toEqual(image!.captions);
      expect(row.model).toBe('shapes');
      expect(Number.isFinite(Number(row.score))).toBe(true);
      expect(Number(row.score)).toBeLessThanOrEqual(0);
      if (kindNamed(row.caption!) === image!.kind) named++;
    }
    expect(new Set(rows.map((row) => row.path)).size).toBe(rows.length);
    // Known answer: a model trained on these pictures names the shape of (nearly) every held-out one.
    expect(named / rows.length).toBeGreaterThanOrEqual(0.8);
  });

  it('--baseline adds the nearest-neighbour scores beside the model', async () => {
    const r = await runCli(['eval', modelDir, dataset, '--cache', cache, '--json', '--baseline', '--split', 'val']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as EvalReport;
    expect(report.split).toBe('val');
    expectMetricsInRange(report.metrics);
    expect(report.nearestNeighbour).toBeDefined();
    expectMetricsInRange(report.nearestNeighbour!);
    // Its captions come from other pictures of this set, all "a <colour> <shape> on a <bg> background": every
    // caption shares at least "a", "on", "a", "background" with the references, so BLEU-1 is at least 4/7.
    expect(report.nearestNeighbour!.bleu1).toBeGreaterThanOrEqual(4 / 7 - 1e-4);
    // A lookup that does not look (the same training picture for every query, whichever it is) scores no better
    // than the best single training caption given to every val picture: the real nearest neighbour must beat it.
    const split = assignSplits(await loadDataset(dataset), { seed: 1, valFraction: 0.2, testFraction: 0.2 });
    const val = split.items.filter((i) => i.split === 'val');
    const train = split.items.filter((i) => i.split === 'train');
    const refs = new Map(val.map((i) => [i.id, i.captions]));
    const constant = train.map((t) => evaluateCaptions(refs, new Map(val.map((i) => [i.id, t.captions[0]!]))).ciderD);
    expect(report.images).toBe(val.length);
    expect(report.nearestNeighbour!.ciderD).toBeGreaterThan(Math.max(...constant) + 0.1);
  });

  it('--baseline on the train or every split is refused in one line', async () => {
    const r = await runCli(['eval', modelDir, dataset, '--cache', cache, '--baseline', '--split', 'all']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('caption-studio: --baseline looks captions up in the train split, so it needs --split test or val (not all)\n');
  });

  it('--predictions naming the dataset file itself is refused, and the dataset is left as it was', async () => {
    const csvDir = path.join(root, 'as-csv');
    await mkdir(csvDir, { recursive: true });
    const csv = `image,caption\n${images.slice(0, 4).map((img) => `${img.file},${img.captions[0]}`).join('\n')}\n`;
    const file = path.join(csvDir, 'captions.csv');
    await writeFile(file, csv);
    const r = await runCli(['eval', modelDir, file, '--cache', cache, '--split', 'all', '--predictions', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`caption-studio: ${file}: is also an input of this export; choose another output file\n`);
    expect(await readFile(file, 'utf8')).toBe(csv);
  });

  it('--predictions with an extension that names no format is refused in one line, before any work', async () => {
    const out = path.join(root, 'predictions.txt');
    const r = await runCli(['eval', modelDir, dataset, '--cache', cache, '--predictions', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`caption-studio: --predictions ${out}: name a .csv or .jsonl file (the extension picks the format)\n`);
    expect(existsSync(out)).toBe(false);
  });
});
