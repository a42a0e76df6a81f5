/**
 * The end-to-end harness: builds the renderer when it is missing or older than its sources, starts the real
 * browser-mode backend (services with worker threads + HTTP server) on generated fixtures in a temp folder, and
 * drives Debian's Chromium through playwright-core.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { AppServices } from '../../src-main/services/app-services.ts';
import { startServer, type RunningServer } from '../../src-main/server/http-server.ts';
import { packageRoot } from '../../src-main/util/paths.ts';
import { writeFixedCaptionBundle } from '../services/fixtures.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.join(packageRoot(), 'test-artifacts');
const RENDERER_DIR = path.join(packageRoot(), 'out', 'renderer');

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? await newestMtime(full) : (await stat(full)).mtimeMs);
  }
  return newest;
}

/** Builds out/renderer with Vite unless it is newer than every renderer and contract source. */
export async function ensureRendererBuilt(): Promise<string> {
  const index = path.join(RENDERER_DIR, 'index.html');
  const root = packageRoot();
  const sources = Math.max(
    await newestMtime(path.join(root, 'src-renderer')),
    await newestMtime(path.join(root, 'src-main', 'contract')),
    statSync(path.join(root, 'vite.config.ts')).mtimeMs,
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return RENDERER_DIR;
  const { build } = await import('vite');
  await build({ configFile: path.join(root, 'vite.config.ts'), root: path.join(root, 'src-renderer'), logLevel: 'warn' });
  return RENDERER_DIR;
}

export interface Harness {
  readonly root: string;
  readonly services: AppServices;
  readonly server: RunningServer;
  readonly browser: Browser;
  readonly context: BrowserContext;
  readonly page: Page;
  /** Page errors and console errors so far (Content-Security-Policy violations among them). */
  readonly problems: readonly string[];
  /** Saves a full-window screenshot into test-artifacts/. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Starts everything; the page is open on the app (it took the token from the address) when this resolves. */
export async function startHarness(label: string): Promise<Harness> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  const rendererDir = await ensureRendererBuilt();
  const root = await mkdtemp(path.join(os.tmpdir(), `cs-e2e-${label}-`));
  const builtin = path.join(root, 'builtin-models');
  await writeFixedCaptionBundle(path.join(builtin, 'default'), ['a', 'red', 'square'], 'Red square (test model)');
  const services = await AppServices.create({
    mode: 'browser',
    dataDir: path.join(root, 'data'),
    cacheDir: path.join(root, 'cache'),
    builtinModelsDir: builtin,
    uploadDir: path.join(root, 'uploads'),
  });
  const server = await startServer({ services, rendererDir });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1360, height: 860 }, colorScheme: 'light' });
  const page = await context.newPage();
  const problems: string[] = [];
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => {
    problems.push(`page error: ${err.message}`);
    pageErrors.push(err.message.split('\n')[0]!);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console error: ${msg.text()}`);
  });
  await page.goto(server.url);
  await page.waitForSelector('[data-testid="nav-caption"]');
  await mkdir(ARTIFACTS, { recursive: true });
  return {
    root,
    services,
    server,
    browser,
    context,
    page,
    problems,
    async screenshot(name) {
      const file = path.join(ARTIFACTS, `${name}.png`);
      await page.evaluate(() => document.querySelectorAll('.view').forEach((v) => (v.scrollTop = 0)));
      await page.waitForTimeout(150);
      await page.screenshot({ path: file });
      return file;
    },
    async close() {
      await browser.close().catch(() => {});
      await server.close();
      await services.close();
      await rm(root, { recursive: true, force: true });
      if (problems.length) console.warn(`[${label}] browser reported:\n  ${problems.join('\n  ')}`);
      // An uncaught exception in the page (e.g. Svelte's each_key_duplicate, which drops the rest of a list) fails the suite.
      if (pageErrors.length) throw new Error(`[${label}] ${pageErrors.length} uncaught page error(s): ${pageErrors.join(' | ')}`);
    },
  };
}
