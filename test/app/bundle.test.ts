/**
 * The bundles the packaged app runs (esbuild, `npm run build:main`): the job worker bundle starts on its own in a
 * worker thread, picks a backend and captions the sample pictures with the shipped default model. (The Electron
 * main bundle itself needs the Electron binary to run.)
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaptionItem } from '../../src-main/contract/types.ts';
import { buildMain } from '../../src-main/app/build-main.ts';
import { JobControl } from '../../src-main/jobs/control.ts';
import type { FromWorker, ToWorker } from '../../src-main/jobs/job-types.ts';
import { defaultModelDir, packageRoot } from '../../src-main/util/paths.ts';

const root = packageRoot();
let worker: Worker;
const messages: FromWorker[] = [];

async function until<T>(find: () => T | undefined, what: string, ms = 120_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  await buildMain(root);
  worker = new Worker(path.join(root, 'out', 'main', 'job-worker.js'), { workerData: { backend: 'wasm' }, stdout: true, stderr: true });
  worker.on('message', (m: FromWorker) => messages.push(m));
}, 120_000);
afterAll(async () => {
  await worker?.terminate();
});

describe('the bundled job worker', () => {
  it('starts its backend and captions the sample pictures with the default model', async () => {
    const backend = await until(() => messages.find((m) => m.type === 'backend'), 'the backend report');
    expect(backend).toMatchObject({ type: 'backend', status: { requested: 'wasm', active: 'wasm', error: null } });

    const samples = (await readdir(path.join(root, 'assets', 'samples'))).filter((f) => f.endsWith('.jpg')).sort();
    const paths = samples.map((f) => path.join(root, 'assets', 'samples', f));
    const run: ToWorker = {
      type: 'run',
      jobId: 'j1',
      spec: { kind: 'caption', params: { paths, modelId: 'default', modelDir: defaultModelDir(), beamSize: 3, maxLength: 20 } },
      control: new JobControl().buffer,
    };
    worker.postMessage(run);
    const end = await until(() => messages.find((m) => (m.type === 'done' || m.type === 'failed') && m.jobId === 'j1'), 'the job to finish');
    expect(end).toEqual({ type: 'done', jobId: 'j1', result: { kind: 'caption', captioned: samples.length, failed: 0 } });
    const items = messages.flatMap((m) => (m.type === 'update' && m.update.type === 'caption' ? [m.update.item as CaptionItem] : []));
    expect(items.map((i) => i.name).sort()).toEqual(samples);
    for (const item of items) {
      expect(item.ok).toBe(true);
      if (item.ok) {
        expect(item.caption.split(' ').length).toBeGreaterThanOrEqual(3);
        expect(item.tags.length).toBeGreaterThan(0);
      }
    }
  });
});
