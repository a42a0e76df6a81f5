/**
 * Speed of the data side:
 * - `dataset_load`: ms to read (detect + parse + check every image file) the COCO and UCM sets in ../shared, or a
 *   generated 10,000-row CSV when they are absent; `dataset_stats`: ms for `datasetStats` on it;
 * - `stats_100k`: ms for what `caption-studio stats` does (load + `datasetStats`) on a generated 100,000-row CSV of
 *   distinct captions over 5 images (many captions per image: the duplicate check must stay linear);
 * - `feature_extract`: ms per image of `extractFeatures` with the default encoder on the first N images, cold
 *   (decode + encode + write the cache) and warm (hash + read the cache), in a temporary cache folder;
 * - `csv_export`: ms for `toCsv` of 12,000 rows.
 *
 * Standalone: `npx tsx src-main/bench/data-bench.ts [--images 32]` prints one JSON line per measurement.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { datasetStats, loadDataset } from '../data/dataset.ts';
import { toCsv, type ExportRow } from '../data/export.ts';
import { extractFeatures } from '../data/feature-cache.ts';
import { loadEncoder } from '../engine/encoder.ts';
import { round } from './stats.ts';

/** One result line. */
export type DataBenchResult =
  | { readonly bench: 'dataset_load'; readonly dataset: string; readonly format: string; readonly images: number; readonly captions: number; readonly ms: number }
  | { readonly bench: 'dataset_stats'; readonly dataset: string; readonly captions: number; readonly ms: number }
  | { readonly bench: 'stats_100k'; readonly rows: number; readonly images: number; readonly captions: number; readonly ms: number }
  | { readonly bench: 'feature_extract'; readonly encoder: string; readonly images: number; readonly cold_ms_per_image: number; readonly warm_ms_per_image: number }
  | { readonly bench: 'csv_export'; readonly rows: number; readonly ms: number };

export interface DataBenchOptions {
  /** Images for the feature extraction measurement (default 32; 0 skips it). */
  readonly images?: number;
  /** Folder holding coco/ and ucm/ (default ../shared/data beside the project). */
  readonly sharedData?: string;
}

const DEFAULT_SHARED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/data');

/** Runs every data measurement (see the module comment). */
export async function runDataBench(options: DataBenchOptions = {}): Promise<DataBenchResult[]> {
  const shared = options.sharedData ?? DEFAULT_SHARED;
  const out: DataBenchResult[] = [];
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'cs-data-bench-'));
  try {
    const targets = ['coco', 'ucm'].map((name) => path.join(shared, name)).filter((dir) => existsSync(dir));
    if (targets.length === 0) targets.push(await generatedCsv(tmp));
    let firstImages: string[] = [];
    for (const target of targets) {
      const t0 = performance.now();
      const ds = await loadDataset(target);
      const loadMs = performance.now() - t0;
      const t1 = performance.now();
      const stats = datasetStats(ds, { minWordCount: 5 });
      const statsMs = performance.now() - t1;
      const name = path.basename(target);
      out.push({ bench: 'dataset_load', dataset: name, format: ds.format, images: stats.images, captions: stats.captions, ms: round(loadMs) });
      out.push({ bench: 'dataset_stats', dataset: name, captions: stats.captions, ms: round(statsMs) });
      if (firstImages.length === 0) firstImages = ds.items.map((item) => item.imagePath);
    }

    const many = await manyCaptionsCsv(tmp, 100_000, 5);
    const t2 = performance.now();
    const manyStats = datasetStats(await loadDataset(many), { minWordCount: 5 });
    out.push({ bench: 'stats_100k', rows: 100_000, images: manyStats.images, captions: manyStats.captions, ms: round(performance.now() - t2) });

    const n = Math.min(options.images ?? 32, firstImages.length);
    if (n > 0 && existsSync(firstImages[0]!)) {
      const encoder = await loadEncoder();
      try {
        const paths = firstImages.slice(0, n);
        const cacheDir = path.join(tmp, 'cache');
        const t0 = performance.now();
        const cold = await extractFeatures(paths, encoder, { cacheDir, batchSize: 16 });
        const coldMs = performance.now() - t0;
        const t1 = performance.now();
        const warm = await extractFeatures(paths, encoder, { cacheDir, batchSize: 16 });
        const warmMs = performance.now() - t1;
        if (!warm.every((r) => r.ok && r.source === 'cache') || cold.some((r) => !r.ok)) throw new Error('data-bench: unexpected extraction results');
        out.push({ bench: 'feature_extract', encoder: encoder.id, images: n, cold_ms_per_image: round(coldMs / n, 2), warm_ms_per_image: round(warmMs / n, 3) });
      } finally {
        encoder.dispose();
      }
    }

    const rows: ExportRow[] = Array.from({ length: 12_000 }, (_, i) => ({
      path: `/data/images/${String(i).padStart(12, '0')}.jpg`,
      caption: i % 7 === 0 ? `-a "quoted", multi\nline caption ${i}` : `a man riding a wave on top of a surfboard ${i}`,
      score: -Math.log1p(i),
      model: 'default',
    }));
    const t0 = performance.now();
    toCsv(rows, { bom: true });
    out.push({ bench: 'csv_export', rows: rows.length, ms: round(performance.now() - t0) });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return out;
}

/** A 10,000-row CSV over 2,000 placeholder images, for machines without ../shared. */
async function generatedCsv(dir: string): Promise<string> {
  const lines = ['image,caption'];
  for (let i = 0; i < 10_000; i++) lines.push(`img${i % 2000}.jpg,"a caption, number ${i}"`);
  await Promise.all(Array.from({ length: 2000 }, (_, i) => writeFile(path.join(dir, `img${i}.jpg`), '')));
  const file = path.join(dir, 'generated.csv');
  await writeFile(file, lines.join('\n'));
  return file;
}

/** A CSV of `rows` distinct captions spread over `images` placeholder images. */
export async function manyCaptionsCsv(dir: string, rows: number, images: number): Promise<string> {
  const lines = ['image,caption'];
  for (let i = 0; i < rows; i++) lines.push(`many${i % images}.jpg,a caption with its number ${i}`);
  await Promise.all(Array.from({ length: images }, (_, i) => writeFile(path.join(dir, `many${i}.jpg`), '')));
  const file = path.join(dir, 'many-captions.csv');
  await writeFile(file, lines.join('\n'));
  return file;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const at = process.argv.indexOf('--images');
  const images = at > 0 ? Number(process.argv[at + 1]) : undefined;
  for (const line of await runDataBench(images !== undefined ? { images } : {})) console.log(JSON.stringify(line));
}
