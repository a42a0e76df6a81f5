/**
 * Speed of the app in real Chromium (browser mode, the same renderer as the desktop app):
 * - `ui_dataset_open`: ms from pressing Open on a generated N-image CSV dataset (default 10,000) until the grid
 *   shows its count, and the server-side part of it (`dataset.open`);
 * - `ui_grid_scroll`: the virtualised grid scrolled steadily for 3 s — frames per second, 95th-percentile and
 *   worst frame time, and the most grid cells ever in the DOM (it must stay near one screenful);
 * - `ui_search`: ms from typing a search until the filtered count shows;
 * - `ui_thumbnails`: ms until every thumbnail on screen has loaded after jumping to an unseen part of the grid
 *   (thumbnails are made on demand with sharp and cached on disk).
 * Needs /usr/bin/chromium (or CHROMIUM_PATH) and a built renderer (builds it when missing).
 *
 * Standalone: `npx tsx src-main/bench/ui-bench.ts [--images 10000]` prints one JSON line per measurement.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { startServer } from '../server/http-server.ts';
import { AppServices } from '../services/app-services.ts';
import { packageRoot } from '../util/paths.ts';

export type UiBenchResult =
  | { readonly bench: 'ui_dataset_open'; readonly images: number; readonly ms: number; readonly server_ms: number }
  | { readonly bench: 'ui_grid_scroll'; readonly images: number; readonly fps: number; readonly p95_frame_ms: number; readonly max_frame_ms: number; readonly max_cells: number }
  | { readonly bench: 'ui_search'; readonly images: number; readonly ms: number }
  | { readonly bench: 'ui_thumbnails'; readonly visible: number; readonly ms: number };

export interface UiBenchOptions {
  readonly images?: number;
  readonly chromium?: string;
}

const WORDS = ['a', 'red', 'green', 'small', 'large', 'dog', 'cat', 'house', 'tree', 'car', 'road', 'river', 'field', 'on', 'near', 'the', 'with'];

async function makeDataset(dir: string, n: number): Promise<string> {
  await mkdir(path.join(dir, 'img'), { recursive: true });
  const seed = path.join(dir, 'seed.jpg');
  await sharp({ create: { width: 320, height: 240, channels: 3, background: { r: 90, g: 140, b: 200 } } }).jpeg().toFile(seed);
  const rows = ['image,caption'];
  for (let i = 0; i < n; i++) {
    const name = `img/${String(i).padStart(6, '0')}.jpg`;
    await copyFile(seed, path.join(dir, name));
    const words = Array.from({ length: 5 + (i % 7) }, (_, k) => WORDS[(i * 7 + k * 3) % WORDS.length]);
    rows.push(`${name},${words.join(' ')} ${i}`);
  }
  const csv = path.join(dir, 'captions.csv');
  await writeFile(csv, rows.join('\n') + '\n');
  return csv;
}

export async function runUiBench(options: UiBenchOptions = {}): Promise<UiBenchResult[]> {
  const n = options.images ?? 10_000;
  const executablePath = options.chromium ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const root = packageRoot();
  const rendererDir = path.join(root, 'out', 'renderer');
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    const { build } = await import('vite');
    await build({ configFile: path.join(root, 'vite.config.ts'), root: path.join(root, 'src-renderer'), logLevel: 'warn' });
  }
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'cs-ui-bench-'));
  const services = await AppServices.create({ mode: 'browser', dataDir: path.join(tmp, 'data'), cacheDir: path.join(tmp, 'cache'), builtinModelsDir: path.join(tmp, 'models') });
  const server = await startServer({ services, rendererDir });
  const browser = await chromium.launch({ executablePath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  const out: UiBenchResult[] = [];
  try {
    const csv = await makeDataset(path.join(tmp, 'ds'), n);
    const t0 = performance.now();
    const view = await services.call('dataset.open', { path: csv });
    const serverMs = performance.now() - t0;
    if (view.ok) await services.call('dataset.close', { datasetId: view.value.datasetId });

    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    // tsx compiles with esbuild's keepNames, which wraps the functions handed to page.evaluate in __name(…).
    await page.addInitScript({ content: 'globalThis.__name = (fn) => fn;' });
    await page.goto(server.url);
    await page.click('[data-testid=nav-datasets]');
    await page.fill('#dataset-path', csv);
    const started = await page.evaluate(() => performance.now());
    await page.click('[data-testid=dataset-open]');
    await page.waitForFunction((count) => document.querySelector('[data-testid=dataset-count]')?.textContent === `${count} of ${count}`, n.toLocaleString('en-US'), { timeout: 120_000 });
    const shown = await page.evaluate(() => performance.now());
    out.push({ bench: 'ui_dataset_open', images: n, ms: Math.round(shown - started), server_ms: Math.round(serverMs) });

    const scroll = await page.evaluate(async () => {
      const viewport = document.querySelector<HTMLElement>('[role=listbox][aria-label="Dataset images"]')!;
      const frames: number[] = [];
      let maxCells = 0;
      let last = performance.now();
      const end = last + 3000;
      await new Promise<void>((resolve) => {
        const step = (now: number): void => {
          frames.push(now - last);
          last = now;
          viewport.scrollTop += 120;
          maxCells = Math.max(maxCells, viewport.querySelectorAll('[role=option]').length);
          if (now < end) requestAnimationFrame(step);
          else resolve();
        };
        requestAnimationFrame(step);
      });
      frames.shift();
      const sorted = [...frames].sort((a, b) => a - b);
      return { fps: frames.length / 3, p95: sorted[Math.floor(sorted.length * 0.95)] ?? 0, max: sorted.at(-1) ?? 0, maxCells };
    });
    out.push({ bench: 'ui_grid_scroll', images: n, fps: Math.round(scroll.fps), p95_frame_ms: Math.round(scroll.p95 * 10) / 10, max_frame_ms: Math.round(scroll.max * 10) / 10, max_cells: scroll.maxCells });

    const s0 = await page.evaluate(() => performance.now());
    await page.fill('[data-testid=dataset-search]', 'river 77');
    await page.waitForFunction(() => !/^10,000 of/.test(document.querySelector('[data-testid=dataset-count]')?.textContent ?? ''));
    const s1 = await page.evaluate(() => performance.now());
    out.push({ bench: 'ui_search', images: n, ms: Math.round(s1 - s0) });
    await page.fill('[data-testid=dataset-search]', '');

    const thumbs = await page.evaluate(async () => {
      const viewport = document.querySelector<HTMLElement>('[role=listbox][aria-label="Dataset images"]')!;
      viewport.scrollTop = viewport.scrollHeight / 2;
      const t = performance.now();
      for (;;) {
        await new Promise((r) => setTimeout(r, 25));
        const imgs = [...viewport.querySelectorAll<HTMLImageElement>('img')].filter((img) => {
          const r = img.getBoundingClientRect();
          const v = viewport.getBoundingClientRect();
          return r.bottom > v.top && r.top < v.bottom;
        });
        if (imgs.length && imgs.every((img) => img.complete && img.naturalWidth > 0)) return { visible: imgs.length, ms: performance.now() - t };
        if (performance.now() - t > 60_000) return { visible: imgs.length, ms: Number.NaN };
      }
    });
    out.push({ bench: 'ui_thumbnails', visible: thumbs.visible, ms: Math.round(thumbs.ms) });
  } finally {
    await browser.close();
    await server.close();
    await services.close();
    await rm(tmp, { recursive: true, force: true });
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const i = process.argv.indexOf('--images');
  const images = i > 0 ? Number(process.argv[i + 1]) : undefined;
  for (const line of await runUiBench(images ? { images } : {})) console.log(JSON.stringify(line));
}
