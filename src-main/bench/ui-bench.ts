/**
 * Speed of the app in real Chromium (browser mode, the same renderer as the desktop app):
 * - `ui_dataset_open`: on a generated N-image CSV dataset (default 20,000), ms from pressing Open until the grid
 *   shows its first screen of cells (`first_screen_ms`; their thumbnails are `ui_thumbnails`) and until every item is listed (`ms`), and the
 *   server-side part (`dataset.open`);
 * - `ui_grid_scroll`: the virtualised grid scrolled steadily for 3 s — frames per second, 95th-percentile and
 *   worst frame time, and the most grid cells ever in the DOM (it must stay near one screenful);
 * - `ui_search`: ms from typing a search until the filtered count shows; `keys_ms`: typing five letters one by one
 *   (what the user feels), and the longest the page stood still meanwhile (`max_task_ms`: the longest gap between
 *   two animation frames, while typing and until the result shows);
 * - `ui_caption_scroll`: the Caption view with 5,000 cards scrolled for 3 s (frames as for the grid, cards in the DOM);
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
import { chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { startServer } from '../server/http-server.ts';
import { AppServices } from '../services/app-services.ts';
import { packageRoot } from '../util/paths.ts';

export type UiBenchResult =
  | { readonly bench: 'ui_dataset_open'; readonly images: number; readonly first_screen_ms: number; readonly ms: number; readonly server_ms: number }
  | { readonly bench: 'ui_grid_scroll'; readonly images: number; readonly fps: number; readonly p95_frame_ms: number; readonly max_frame_ms: number; readonly max_cells: number }
  | { readonly bench: 'ui_search'; readonly images: number; readonly ms: number; readonly keys_ms: number; readonly max_task_ms: number }
  | { readonly bench: 'ui_caption_scroll'; readonly cards: number; readonly fps: number; readonly p95_frame_ms: number; readonly max_frame_ms: number; readonly max_cards: number }
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

/**
 * Scrolls the element `scroller` by 120 px every animation frame for 3 s: frames per second, the 95th-percentile and
 * worst frame time, and the most elements matching `items` in the page at once.
 */
async function scrollFor3s(page: Page, scroller: string, items: string): Promise<{ fps: number; p95: number; max: number; maxItems: number }> {
  return page.evaluate(
    async ([scrollerSelector, itemSelector]) => {
      const viewport = document.querySelector<HTMLElement>(scrollerSelector!)!;
      const frames: number[] = [];
      let maxItems = 0;
      let last = performance.now();
      const end = last + 3000;
      await new Promise<void>((resolve) => {
        const step = (now: number): void => {
          frames.push(now - last);
          last = now;
          viewport.scrollTop += 120;
          maxItems = Math.max(maxItems, document.querySelectorAll(itemSelector!).length);
          if (now < end) requestAnimationFrame(step);
          else resolve();
        };
        requestAnimationFrame(step);
      });
      frames.shift();
      const sorted = [...frames].sort((a, b) => a - b);
      return { fps: frames.length / 3, p95: sorted[Math.floor(sorted.length * 0.95)] ?? 0, max: sorted.at(-1) ?? 0, maxItems };
    },
    [scroller, items],
  );
}

export async function runUiBench(options: UiBenchOptions = {}): Promise<UiBenchResult[]> {
  const n = options.images ?? 20_000;
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
    await page.waitForFunction(() => document.querySelectorAll('[role=listbox][aria-label="Dataset images"] [role=option]').length > 0, null, { timeout: 120_000, polling: 'raf' });
    const firstScreen = await page.evaluate(() => performance.now());
    await page.waitForFunction((count) => document.querySelector('[data-testid=dataset-count]')?.textContent === `${count} of ${count}`, n.toLocaleString('en-US'), { timeout: 120_000 });
    const shown = await page.evaluate(() => performance.now());
    out.push({ bench: 'ui_dataset_open', images: n, first_screen_ms: Math.round(firstScreen - started), ms: Math.round(shown - started), server_ms: Math.round(serverMs) });

    const scroll = await scrollFor3s(page, '[role=listbox][aria-label="Dataset images"]', '[role=listbox][aria-label="Dataset images"] [role=option]');
    out.push({ bench: 'ui_grid_scroll', images: n, fps: Math.round(scroll.fps), p95_frame_ms: Math.round(scroll.p95 * 10) / 10, max_frame_ms: Math.round(scroll.max * 10) / 10, max_cells: scroll.maxItems });

    const s0 = await page.evaluate(() => performance.now());
    await page.fill('[data-testid=dataset-search]', 'river 77');
    await page.waitForFunction((all) => !document.querySelector('[data-testid=dataset-count]')?.textContent?.startsWith(`${all} of`), n.toLocaleString('en-US'));
    const s1 = await page.evaluate(() => performance.now());
    await page.fill('[data-testid=dataset-search]', '');
    await page.waitForFunction((all) => document.querySelector('[data-testid=dataset-count]')?.textContent === `${all} of ${all}`, n.toLocaleString('en-US'));
    // Five letters typed one by one, as a user types them: the time until the last one is filtered, and the longest
    // task that blocked the page meanwhile.
    // The longest gap between two animation frames while typing: how long the page stood still.
    await page.evaluate(() => {
      const w = window as unknown as { longest: number; recording: boolean };
      w.longest = 0;
      w.recording = true;
      let last = performance.now();
      const step = (now: number): void => {
        w.longest = Math.max(w.longest, now - last);
        last = now;
        if (w.recording) requestAnimationFrame(step);
      };
      requestAnimationFrame(step);
    });
    await page.focus('[data-testid=dataset-search]');
    const k0 = await page.evaluate(() => performance.now());
    await page.keyboard.type('river', { delay: 60 });
    await page.waitForFunction((all) => !document.querySelector('[data-testid=dataset-count]')?.textContent?.startsWith(`${all} of`), n.toLocaleString('en-US'));
    const k1 = await page.evaluate(() => performance.now());
    await page.waitForTimeout(300);
    const maxTask = await page.evaluate(() => {
      const w = window as unknown as { longest: number; recording: boolean };
      w.recording = false;
      return w.longest;
    });
    out.push({ bench: 'ui_search', images: n, ms: Math.round(s1 - s0), keys_ms: Math.round(k1 - k0), max_task_ms: Math.round(maxTask) });
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

    // The Caption view with 5,000 cards (as restored from the browser's store after a reload).
    const cards = 5000;
    await page.evaluate(
      (count) =>
        new Promise<void>((resolve, reject) => {
          const list = Array.from({ length: count }, (_, i) => ({
            key: `k${i}`, path: `/nowhere/${i}.jpg`, name: `${i}.jpg`, ok: true, text: `a caption of card ${i}`, original: `a caption of card ${i}`, score: -0.5,
            alternatives: [{ caption: `another caption ${i}`, score: -0.9 }, { caption: `a third caption ${i}`, score: -1.1 }], tags: [{ label: 'tabby', probability: 0.4 }, { label: 'lynx', probability: 0.2 }], error: '', modelId: 'default', jobId: 'old',
          }));
          const open = indexedDB.open('keyval-store');
          open.onupgradeneeded = () => open.result.createObjectStore('keyval');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const tx = open.result.transaction('keyval', 'readwrite');
            tx.objectStore('keyval').put(list, 'caption-studio.caption-cards');
            tx.oncomplete = () => resolve();
            tx.onerror = () => reject(tx.error);
          };
        }),
      cards,
    );
    await page.reload();
    await page.click('[data-testid=nav-caption]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=caption-card]').length > 0, null, { timeout: 60_000 });
    const cardScroll = await scrollFor3s(page, '[role=listbox][aria-label="Captioned images"]', '[data-testid=caption-card]');
    out.push({ bench: 'ui_caption_scroll', cards, fps: Math.round(cardScroll.fps), p95_frame_ms: Math.round(cardScroll.p95 * 10) / 10, max_frame_ms: Math.round(cardScroll.max * 10) / 10, max_cards: cardScroll.maxItems });
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
