/**
 * The app and the CLI run the same use cases: a model trained from the Train view (browser mode, driven in
 * Chromium) and the same dataset trained by `caption-studio train` with the same seed and the shared defaults give
 * the same split, the same vocabulary and, on the wasm backend, the same weights after one epoch;
 * `caption-studio eval` on the app's model scores exactly its recorded test images; and the app's export and the
 * CLI's export of one folder with one model are byte-identical CSVs.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, assignSplits } from '../../src-main/data/dataset.ts';
import { DEFAULT_SPLIT } from '../../src-main/pipeline/training-data.ts';
import { runCli, writeShapesDataset } from '../cli/cli-fixtures.ts';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
let page: Page;
let dataset: string;
/** The Train view's plan line before training. */
let plannedSummary = '';

beforeAll(async () => {
  h = await startHarness('parity');
  page = h.page;
  dataset = path.join(h.root, 'shapes');
  await writeShapesDataset(dataset);
  // The worker runs where the CLI runs: on wasm.
  const set = await h.services.call('settings.update', { backend: 'wasm' });
  expect(set.ok).toBe(true);
}, 120_000);
afterAll(async () => {
  await h?.close();
});

function poll<T>(fn: () => T | Promise<T>, timeout = 20_000) {
  return expect.poll(fn, { timeout, interval: 100 });
}

interface BundleJson {
  readonly vocabulary: unknown;
  readonly weightsSha256: string;
  readonly provenance: { readonly split: unknown; readonly trainImages: number; readonly valImages: number; readonly testImages: number };
  readonly decoder: { readonly hiddenDim: number; readonly embedDim: number };
}
async function bundleJson(dir: string): Promise<BundleJson> {
  return JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as BundleJson;
}

/** The sizes both front ends are given; everything else is left to the shared defaults. */
const SIZES = { epochs: 1, batch: 8, hidden: 16, embed: 16 } as const;
const APP_MODEL = 'parity-app';

describe('the app and the CLI train, evaluate and export alike', () => {
  it('the Train view starts from the CLI defaults and plans the CLI split and vocabulary', async () => {
    await page.click('[data-testid=nav-train]');
    await page.fill('#train-dataset', dataset);
    await poll(() => page.locator('[data-testid=train-dataset-summary]').textContent(), 30_000).toContain('24 images');
    // The form's defaults are the CLI's (engine/train-config.ts, pipeline/training-data.ts).
    expect(await page.inputValue('[data-testid=train-epochs]')).toBe('20');
    expect(await page.inputValue('[data-testid=train-batch]')).toBe('64');
    expect(await page.inputValue('[data-testid=train-hidden]')).toBe('512');
    expect(await page.inputValue('[data-testid=train-test-fraction]')).toBe('0.1');
    expect(await page.inputValue('[data-testid=train-min-count]')).toBe('5');
    const summary = (await page.locator('[data-testid=train-dataset-summary]').textContent()) ?? '';
    plannedSummary = summary;
    const dataset0 = assignSplits(await loadDataset(dataset), DEFAULT_SPLIT);
    const counts = ['train', 'val', 'test'].map((s) => dataset0.items.filter((i) => i.split === s).length);
    expect(summary).toContain(`split ${counts.join('/')} (train/val/test)`);
  });

  it('one epoch from the UI and from the CLI: same split, same vocabulary, same weights (wasm)', async () => {
    await page.fill('[data-testid=train-name]', APP_MODEL);
    await page.fill('[data-testid=train-epochs]', String(SIZES.epochs));
    await page.fill('[data-testid=train-batch]', String(SIZES.batch));
    await page.fill('[data-testid=train-hidden]', String(SIZES.hidden));
    await page.fill('[data-testid=train-embed]', String(SIZES.embed));
    await page.click('[data-testid=train-start]');
    await poll(() => page.locator('[data-testid=train-state]').textContent(), 180_000).toBe('done');
    const appModel = await h.services.models.get(APP_MODEL);

    const cliDir = path.join(h.root, 'cli-model');
    const cli = await runCli([
      'train', dataset, '--out', cliDir, '--cache', path.join(h.root, 'cli-cache'),
      '--epochs', String(SIZES.epochs), '--batch', String(SIZES.batch), '--hidden', String(SIZES.hidden), '--embed', String(SIZES.embed),
    ]);
    expect(cli.stderr).not.toMatch(/^caption-studio:/m);
    expect(cli.code).toBe(0);

    const [app, ours] = [await bundleJson(appModel.dir), await bundleJson(cliDir)];
    expect(app.provenance.split).toEqual({ seed: 1, valFraction: 0.1, testFraction: 0.1 });
    expect(app.provenance.split).toEqual(ours.provenance.split);
    expect([app.provenance.trainImages, app.provenance.valImages, app.provenance.testImages]).toEqual([
      ours.provenance.trainImages,
      ours.provenance.valImages,
      ours.provenance.testImages,
    ]);
    expect(app.provenance.testImages).toBeGreaterThan(0);
    expect(app.decoder).toEqual(ours.decoder);
    expect(app.vocabulary).toEqual(ours.vocabulary);
    // The plan showed the vocabulary the trainer then built (special tokens aside).
    const words = (ours.vocabulary as { tokens: string[] }).tokens.length - 4;
    expect(plannedSummary).toContain(`vocabulary ${words} words (seen ≥ 5×)`);
    expect(app.weightsSha256).toBe(ours.weightsSha256);
  }, 300_000);

  it('eval on the app-trained model scores exactly its recorded test images', async () => {
    const appModel = await h.services.models.get(APP_MODEL);
    const predictions = path.join(h.root, 'predictions.csv');
    const r = await runCli(['eval', appModel.dir, dataset, '--cache', path.join(h.root, 'cli-cache'), '--json', '--predictions', predictions]);
    expect(r.stderr).not.toMatch(/^caption-studio:/m);
    expect(r.code).toBe(0);
    const recorded = (await bundleJson(appModel.dir)).provenance.split as { seed: number; valFraction: number; testFraction: number };
    const test = assignSplits(await loadDataset(dataset), recorded)
      .items.filter((i) => i.split === 'test')
      .map((i) => i.imagePath)
      .sort();
    const scored = (parse(await readFile(predictions, 'utf8'), { columns: true }) as { path: string }[]).map((row) => row.path).sort();
    expect(scored).toEqual(test);
    expect((JSON.parse(r.stdout) as { images: number }).images).toBe(test.length);
  }, 120_000);

  it('the Export view and `caption-studio export` write byte-identical CSVs of one folder with one model', async () => {
    const appModel = await h.services.models.get(APP_MODEL);
    const fromApp = path.join(h.root, 'out', 'app.csv');
    const fromCli = path.join(h.root, 'out', 'cli.csv');
    await page.click('[data-testid=nav-export]');
    await page.fill('#export-source', dataset);
    await page.fill('#export-out', fromApp);
    await page.selectOption('[data-testid=export-model]', APP_MODEL);
    await page.click('[data-testid=export-start]');
    await poll(() => page.locator('[data-testid=export-state]').textContent(), 120_000).toBe('done');
    const r = await runCli(['export', dataset, '--out', fromCli, '--model', appModel.dir]);
    expect(r.code).toBe(0);
    const [a, b] = [await readFile(fromApp), await readFile(fromCli)];
    expect(parse(a, { columns: true })).toHaveLength(24);
    expect(a.equals(b)).toBe(true);
  }, 180_000);
});
