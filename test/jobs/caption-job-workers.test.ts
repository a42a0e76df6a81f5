/**
 * The app's caption job on worker threads: started inside the inference worker, the pool captions 40 files (a
 * broken file among the pictures; the first chunks are done on the job's thread while the pool starts) into the same items, in the same order, as the job on one thread, with the
 * shipped model; the threads stop with the job, so the idle inference worker is still stopped on time.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptionItem } from '../../src-main/contract/types.ts';
import { JobManager } from '../../src-main/jobs/job-manager.ts';
import { defaultModelDir } from '../../src-main/util/paths.ts';
import { Rng } from '../../src-main/util/rng.ts';
import { allSceneContents, placeScene, renderShapes, sceneShapes } from '../helpers/shapes.ts';

let root: string;
let paths: string[];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-caption-job-workers-'));
  const rng = new Rng(3);
  paths = [];
  for (const [i, c] of allSceneContents().slice(20, 59).entries()) {
    const file = path.join(root, `scene-${i}.png`);
    await writeFile(file, await renderShapes(sceneShapes(placeScene(c, rng, 240)), { size: 240, format: 'png' }));
    paths.push(file);
  }
  const broken = path.join(root, 'broken.jpg');
  await writeFile(broken, 'not a picture\n');
  paths.splice(3, 0, broken);
  expect(paths.length).toBeGreaterThan(16); // more than two of the job's chunks of 8: threads are started
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the caption job with worker threads', () => {
  it('gives the one-thread items in order, and the idle inference worker still stops', async () => {
    const jobs = new JobManager('wasm', 500);
    try {
      const run = async (workers: number): Promise<CaptionItem[]> => {
        const items: CaptionItem[] = [];
        const off = jobs.subscribe((e) => e.type === 'caption' && items.push(e.item));
        const params = { paths, modelId: 'default', modelDir: defaultModelDir(), beamSize: 3, maxLength: 16, workers };
        const job = await jobs.wait(jobs.start({ kind: 'caption', params }, `caption on ${workers}`).id);
        off();
        expect(job.state).toBe('done');
        expect(job.result).toEqual({ kind: 'caption', captioned: paths.length - 1, failed: 1 });
        return items;
      };
      const one = await run(1);
      const pooled = await run(2);
      expect(pooled.map((i) => i.path)).toEqual(paths);
      expect(pooled.map((i) => (i.ok ? i.caption : i.error))).toEqual(one.map((i) => (i.ok ? i.caption : i.error)));
      expect(new Set(pooled.flatMap((i) => (i.ok ? [i.caption] : []))).size).toBeGreaterThan(1);
      pooled.forEach((item, k) => {
        const ref = one[k]!;
        if (!item.ok || !ref.ok) return;
        expect(item.score).toBeCloseTo(ref.score, 4);
        expect(item.alternatives.map((a) => a.caption)).toEqual(ref.alternatives.map((a) => a.caption));
        expect(item.tags.map((t) => t.label)).toEqual(ref.tags.map((t) => t.label));
      });
      await expect.poll(() => jobs.inferenceRunning, { timeout: 10_000, interval: 100 }).toBe(false);
    } finally {
      await jobs.close();
    }
  }, 120_000);
});
