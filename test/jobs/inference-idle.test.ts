/**
 * The inference worker is stopped after a while without jobs (its WebAssembly memory, grown by the batches it
 * encoded, is only given back that way), and the next caption job starts a fresh one that works the same.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobManager } from '../../src-main/jobs/job-manager.ts';
import type { CaptionItem } from '../../src-main/contract/types.ts';
import { writeFixedCaptionBundle, writeImage } from '../services/fixtures.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-idle-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the inference worker when idle', () => {
  it('is stopped after the idle time and started again by the next caption job', async () => {
    const modelDir = await writeFixedCaptionBundle(path.join(root, 'model'), ['a', 'red', 'square']);
    const images = [await writeImage(path.join(root, 'a.png'), [200, 20, 20]), await writeImage(path.join(root, 'b.png'), [20, 200, 20])];
    const jobs = new JobManager('wasm', 500);
    try {
      const captions: CaptionItem[] = [];
      jobs.subscribe((e) => e.type === 'caption' && captions.push(e.item));
      const caption = async () => (await jobs.wait(jobs.start({ kind: 'caption', params: { paths: images, modelId: 'm', modelDir, beamSize: 1, maxLength: 8 } }, 'caption').id)).state;
      expect(await caption()).toBe('done');
      expect(jobs.inferenceRunning).toBe(true);
      await expect.poll(() => jobs.inferenceRunning, { timeout: 10_000, interval: 100 }).toBe(false);
      expect(await caption()).toBe('done');
      expect(captions.map((c) => (c.ok ? c.caption : c.error))).toEqual(['a red square', 'a red square', 'a red square', 'a red square']);
    } finally {
      await jobs.close();
    }
  }, 120_000);
});
