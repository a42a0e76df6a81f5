/**
 * The Compare schedules panel end to end in real Chromium against the browser mode: a tiny study (5 schedules × 1
 * seed, 2 epochs, a 16-image generated dataset) runs as one job from the Train view; the chart gets a curve per
 * schedule, the table a row per schedule, and the kept model appears in the picker.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import { SIDECAR_SAMPLES, writeSidecarDataset } from '../services/fixtures.ts';

let h: Harness;
let page: Page;

beforeAll(async () => {
  h = await startHarness('compare');
  page = h.page;
});
afterAll(async () => {
  await h?.close();
});

function poll<T>(fn: () => T | Promise<T>, timeout = 20_000) {
  return expect.poll(fn, { timeout, interval: 100 });
}

describe('Compare schedules panel', () => {
  it('runs a tiny study as one job and shows every schedule in the chart and the table', async () => {
    const samples = [...SIDECAR_SAMPLES, ...SIDECAR_SAMPLES.map((s) => ({ ...s, name: `b-${s.name}` }))];
    const dir = await writeSidecarDataset(path.join(h.root, 'squares'), samples);
    await page.click('[data-testid=nav-train]');
    await page.fill('#train-dataset', dir);
    await poll(() => page.locator('[data-testid=train-dataset-summary]').textContent(), 20_000).toContain('16 images');
    await page.fill('[data-testid=train-batch]', '4');
    await page.fill('[data-testid=train-hidden]', '16');
    await page.fill('[data-testid=train-embed]', '16');
    await page.fill('[data-testid=train-min-count]', '1');
    const panel = page.locator('[data-testid=compare-panel]');
    await panel.scrollIntoViewIfNeeded();
    await page.fill('[data-testid=compare-name]', 'Tiny study');
    await page.fill('[data-testid=compare-seeds]', '1');
    await page.fill('[data-testid=compare-epochs]', '2');
    expect(await page.locator('[data-testid=compare-start]').textContent()).toContain('Run 5 trainings');
    await page.click('[data-testid=compare-start]');
    await poll(() => page.locator('[data-testid=compare-state]').textContent(), 20_000).toMatch(/running|queued|done/);
    await poll(() => page.locator('[data-testid=compare-state]').textContent(), 300_000).toBe('done');

    const rows = page.locator('[data-testid=compare-row]');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-schedule')))).toEqual(['none', 'always', 'linear', 'exponential', 'inverse-sigmoid']);
    // Runs, then six metrics; one seed: means without ± sd.
    for (const text of await rows.allTextContents()) expect(text).toMatch(/^(none|always|linear|exponential|inverse-sigmoid)1(\d\.\d{3}){6}$/);
    const job = h.services.jobs.list().find((j) => j.kind === 'compare')!;
    expect(job.state).toBe('done');
    // The live chart's data: 2 epochs of each of the 5 runs.
    expect(job.study).toHaveLength(10);
    expect(new Set(job.study!.map((p) => p.schedule))).toEqual(new Set(['none', 'always', 'linear', 'exponential', 'inverse-sigmoid']));
    expect(await page.locator('[data-testid=compare-done]').textContent()).toMatch(/\(5 of 5 runs trained by this job\)\.\s+Kept: \S+, seed 1/);
    const result = job.result as { kind: 'compare'; modelId: string };
    await poll(() => page.locator('[data-testid=model-picker] option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value)), 20_000).toContain(result.modelId);
    await panel.scrollIntoViewIfNeeded();
    await h.screenshot('compare-schedules');
    expect(h.problems).toEqual([]);
  });
});
