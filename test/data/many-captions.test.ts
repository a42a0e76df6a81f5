/**
 * Many captions per image (100k rows over 5 images took 41.6 s in `stats`): the exact-duplicate check of the
 * loaders keeps a set per image instead of scanning the captions kept so far, so loading stays linear. Speed itself
 * is measured by `npm run bench` (data suite, `stats_100k`); here the test counts the scans that made it quadratic.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { manyCaptionsCsv } from '../../src-main/bench/data-bench.ts';
import { datasetStats, loadDataset } from '../../src-main/data/dataset.ts';
import { cleanEditedCaptions } from '../../src-main/data/formats/common.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cs-many-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Counts `Array.prototype.includes` calls on arrays of at least `min` elements while `fn` runs. */
async function longScans<T>(min: number, fn: () => Promise<T> | T): Promise<{ value: T; scans: number }> {
  const original = Array.prototype.includes;
  let scans = 0;
  const spy = vi.spyOn(Array.prototype, 'includes').mockImplementation(function (this: unknown[], ...args: [unknown, number?]) {
    if (this.length >= min) scans++;
    return original.apply(this, args);
  });
  try {
    return { value: await fn(), scans };
  } finally {
    spy.mockRestore();
  }
}

describe('many captions per image', () => {
  it('are loaded without scanning the captions already kept, and every distinct one is kept', async () => {
    const file = await manyCaptionsCsv(dir, 20_000, 2);
    const { value: dataset, scans } = await longScans(1000, () => loadDataset(file));
    expect(scans).toBe(0);
    const stats = datasetStats(dataset);
    expect(stats).toMatchObject({ images: 2, captions: 20_000 });
    expect(dataset.items.map((i) => i.captions.length)).toEqual([10_000, 10_000]);
  });

  it('still drop exact duplicates, in the loaders and in edited caption lists', async () => {
    const captions = Array.from({ length: 5000 }, (_, i) => `caption ${i % 2500}`);
    const { value, scans } = await longScans(1000, () => cleanEditedCaptions(captions));
    expect(scans).toBe(0);
    expect(value).toEqual(captions.slice(0, 2500));
  });
});
