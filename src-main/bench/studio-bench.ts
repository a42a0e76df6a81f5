/**
 * Speed of the dataset studio's backend on a large generated sidecar folder (default 20,000 small JPEGs, every
 * third one with a caption file), through the same `AppServices.call` the HTTP server and the IPC use:
 * - `studio_open`: ms for `dataset.open` (read the folder, stats) and the size of its answer in bytes;
 * - `studio_page`: ms for one further `dataset.items` page of the item list (what the UI asks while the grid shows);
 * - `studio_save_one`: ms for `dataset.save` of one edited caption (median of 5; it must not grow with the folder);
 * - `studio_caption`: captioning N images (default 500) through the caption job the UI starts (`caption.start`,
 *   events as the UI gets them) with the bundled default model, images/s, and the server's resident memory (MB)
 *   before, right after, and once the process has idled past INFERENCE_IDLE_MS (garbage collected when run with
 *   `node --expose-gc`).
 *
 * Standalone: `npx tsx src-main/bench/studio-bench.ts [--images 20000] [--caption 500]`, one JSON line each.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import type { JobEvent } from '../contract/types.ts';
import { INFERENCE_IDLE_MS } from '../jobs/job-manager.ts';
import { AppServices } from '../services/app-services.ts';
import { packageRoot } from '../util/paths.ts';
import { round } from './stats.ts';

export type StudioBenchResult =
  | { readonly bench: 'studio_open'; readonly images: number; readonly ms: number; readonly bytes: number }
  | { readonly bench: 'studio_page'; readonly images: number; readonly items: number; readonly ms: number }
  | { readonly bench: 'studio_save_one'; readonly images: number; readonly ms: number }
  | { readonly bench: 'studio_caption'; readonly images: number; readonly ms: number; readonly images_per_s: number; readonly rss_before_mb: number; readonly rss_after_mb: number; readonly rss_idle_mb: number };

export interface StudioBenchOptions {
  /** Images in the generated folder (default 20,000). */
  readonly images?: number;
  /** Images captioned through the job path (default 500; 0 skips it). */
  readonly caption?: number;
}

/** A sidecar folder of `n` copies of one small JPEG; every third image has `name.txt`. */
export async function makeSidecarFolder(dir: string, n: number): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const seed = path.join(dir, '..', 'seed.jpg');
  await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 90, g: 140, b: 200 } } }).jpeg().toFile(seed);
  const images: string[] = [];
  for (let i = 0; i < n; i += 64) {
    await Promise.all(
      Array.from({ length: Math.min(64, n - i) }, async (_, k) => {
        const name = path.join(dir, `${String(i + k).padStart(6, '0')}.jpg`);
        images[i + k] = name;
        await copyFile(seed, name);
        if ((i + k) % 3 === 0) await writeFile(name.replace(/\.jpg$/, '.txt'), `a small blue picture number ${i + k}\n`);
      }),
    );
  }
  return images;
}

const mb = (bytes: number): number => round(bytes / 2 ** 20, 1);
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();

export async function runStudioBench(options: StudioBenchOptions = {}): Promise<StudioBenchResult[]> {
  const n = options.images ?? 20_000;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'cs-studio-bench-'));
  const defaultModel = path.join(packageRoot(), 'models');
  const services = await AppServices.create({ mode: 'browser', dataDir: path.join(tmp, 'data'), cacheDir: path.join(tmp, 'cache'), builtinModelsDir: defaultModel, uploadDir: path.join(tmp, 'uploads') });
  const out: StudioBenchResult[] = [];
  try {
    const folder = path.join(tmp, 'ds');
    const images = await makeSidecarFolder(folder, n);
    const t0 = performance.now();
    const opened = await services.call('dataset.open', { path: folder });
    const openMs = performance.now() - t0;
    if (!opened.ok) throw new Error(`studio-bench: ${opened.error}`);
    const view = opened.value;
    out.push({ bench: 'studio_open', images: n, ms: round(openMs), bytes: JSON.stringify(view).length });

    if (view.items.length < view.total) {
      const p0 = performance.now();
      const page = await services.call('dataset.items', { datasetId: view.datasetId, offset: view.items.length, limit: 5000 });
      if (!page.ok) throw new Error(`studio-bench: ${page.error}`);
      out.push({ bench: 'studio_page', images: n, items: page.value.items.length, ms: round(performance.now() - p0) });
    }

    const saves: number[] = [];
    for (let i = 0; i < 5; i++) {
      const s0 = performance.now();
      const saved = await services.call('dataset.save', { datasetId: view.datasetId, changes: [{ id: path.basename(images[i * 7]!), captions: [`an edited caption ${i}`] }] });
      if (!saved.ok) throw new Error(`studio-bench: ${saved.error}`);
      saves.push(performance.now() - s0);
    }
    saves.sort((a, b) => a - b);
    out.push({ bench: 'studio_save_one', images: n, ms: round(saves[2]!) });
    await services.call('dataset.close', { datasetId: view.datasetId });

    const m = Math.min(options.caption ?? 500, n);
    if (m > 0 && existsSync(path.join(defaultModel, 'default', 'model.json'))) {
      gc();
      const before = process.memoryUsage().rss;
      const c0 = performance.now();
      const job = await services.call('caption.start', { paths: images.slice(0, m) });
      if (!job.ok) throw new Error(`studio-bench: ${job.error}`);
      let captioned = 0;
      await new Promise<void>((resolve, reject) => {
        const off = services.subscribe((event: JobEvent) => {
          if (event.type === 'caption' && event.jobId === job.value.id) captioned++;
          if (event.type === 'job' && event.job.id === job.value.id && ['done', 'failed', 'cancelled'].includes(event.job.state)) {
            off();
            if (event.job.state === 'done') resolve();
            else reject(new Error(`studio-bench: caption job ${event.job.state}`));
          }
        });
      });
      const ms = performance.now() - c0;
      const after = process.memoryUsage().rss;
      // Idle: the inference worker is stopped after INFERENCE_IDLE_MS without jobs.
      await new Promise((r) => setTimeout(r, INFERENCE_IDLE_MS + 3000));
      gc();
      await new Promise((r) => setTimeout(r, 500));
      const idle = process.memoryUsage().rss;
      if (captioned !== m) throw new Error(`studio-bench: ${captioned} of ${m} images captioned`);
      out.push({ bench: 'studio_caption', images: m, ms: round(ms), images_per_s: round((m / ms) * 1000, 1), rss_before_mb: mb(before), rss_after_mb: mb(after), rss_idle_mb: mb(idle) });
    }
  } finally {
    await services.close();
    await rm(tmp, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string): number | undefined => {
    const i = process.argv.indexOf(name);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const images = arg('--images');
  const caption = arg('--caption');
  for (const line of await runStudioBench({ ...(images !== undefined ? { images } : {}), ...(caption !== undefined ? { caption } : {}) })) console.log(JSON.stringify(line));
}
