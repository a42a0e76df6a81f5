/**
 * Long jobs in worker threads, on the real engine: a training run pauses (and sends nothing while paused),
 * resumes, is cancelled at a checkpoint and resumed from it to the end; the finished model is installed and
 * announced. Pause/cancel reach the worker through shared memory while it computes.
 */
import { mkdtemp, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import { readCheckpointMeta } from '../../src-main/engine/checkpoint.ts';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEvent, JobResult, JobSummary } from '../../src-main/contract/types.ts';
import type { RequestOf } from '../../src-main/contract/schemas.ts';
import { AppServices } from '../../src-main/services/app-services.ts';
import { JobControl, JobGate } from '../../src-main/jobs/control.ts';
import { CancelledError } from '../../src-main/util/progress.ts';
import { writeFixedCaptionBundle, writeImage, writeSidecarDataset } from '../services/fixtures.ts';

let root: string;
let services: AppServices;
let dataset: string;
const events: JobEvent[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-jobs-'));
  services = await AppServices.create({ mode: 'browser', dataDir: path.join(root, 'data'), cacheDir: path.join(root, 'cache'), builtinModelsDir: path.join(root, 'none') });
  services.subscribe((e) => events.push(e));
  dataset = await writeSidecarDataset(path.join(root, 'colours'));
});
afterAll(async () => {
  await services?.close();
  await rm(root, { recursive: true, force: true });
});

const request = (name: string, epochs: number, resume = false) => ({
  dataset: { path: dataset },
  name,
  epochs,
  batchSize: 2,
  hiddenDim: 12,
  embedDim: 8,
  schedule: { type: 'inverse-sigmoid' as const, k: 5, epsMin: 0.5 },
  seed: 7,
  patience: 1000, // no early stopping: every run goes to its last epoch
  resume,
});

async function start(req: RequestOf<'train.start'>): Promise<JobSummary> {
  const r = await services.call('train.start', req);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

const until = async (check: () => boolean, what: string, ms = 60_000): Promise<void> => {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('JobGate', () => {
  it('turns a cancel into an aborted signal and a CancelledError at the next checkpoint', () => {
    const control = new JobControl();
    const gate = new JobGate(control.buffer);
    expect(gate.poll()).toBe(true);
    control.cancel();
    expect(gate.poll()).toBe(false);
    expect(gate.signal.aborted).toBe(true);
    expect(() => gate.checkpoint()).toThrow(CancelledError);
  });
});

describe('training jobs', () => {
  it('pause holds the run (no batches while paused); resume finishes it and installs the model', async () => {
    const job = await start(request('Paused run', 2));
    services.jobs.pause(job.id);
    await until(() => services.jobs.get(job.id)!.state === 'paused', 'the pause');
    const seen = events.filter((e) => e.type === 'batch' && e.jobId === job.id).length;
    await new Promise((r) => setTimeout(r, 700));
    expect(events.filter((e) => e.type === 'batch' && e.jobId === job.id).length).toBe(seen);
    services.jobs.resume(job.id);
    const done = await services.jobs.wait(job.id);
    expect(done.error ?? done.state).toBe('done');
    expect(done.result).toMatchObject({ kind: 'train', modelId: 'paused-run', epochsRun: 2, stoppedBy: 'epochs' });
    // The figures reported are those of the epoch installed, the best one.
    const result = done.result as Extract<JobResult, { kind: 'train' }>;
    const kept = done.epochs.find((e) => e.epoch === result.bestEpoch)!;
    expect(result.metrics).toEqual({ trainLoss: kept.trainLoss, valLoss: kept.valLoss, bleu4: kept.bleu4, ciderD: kept.ciderD });
    expect(done.epochs.map((e) => e.epoch)).toEqual([1, 2]);
    expect(done.epochs[1]!.samples.length).toBeGreaterThan(0);
    expect(done.lossCurve.length).toBeGreaterThan(4);
    const models = await services.models.list();
    expect(models.find((m) => m.id === 'paused-run')).toMatchObject({ name: 'Paused run', hiddenDim: 12, builtin: false });
    await until(() => events.some((e) => e.type === 'models' && e.models.some((m) => m.id === 'paused-run')), 'the model-list event');
    // Unit meanings over the training captions are saved beside the model, for the Caption view's explain panel.
    const unitWords = JSON.parse(await readFile(path.join(services.models.dirOf('paused-run'), 'unit-words.json'), 'utf8')) as { hiddenDim: number; captions: number; units: unknown[] };
    expect(unitWords.hiddenDim).toBe(12);
    expect(unitWords.units).toHaveLength(12);
    expect(unitWords.captions).toBeGreaterThan(0);
  });

  it('a cancelled run keeps a checkpoint that resume continues to the last epoch', async () => {
    const epochs = 25;
    const job = await start(request('Resumed run', epochs));
    await until(() => events.some((e) => e.type === 'epoch' && e.jobId === job.id), 'the first epoch');
    services.jobs.cancel(job.id);
    const cancelled = await services.jobs.wait(job.id);
    expect(cancelled.state).toBe('cancelled');
    const reached = cancelled.epochs.length;
    expect(reached).toBeGreaterThanOrEqual(1);
    expect(reached).toBeLessThan(epochs);
    await stat(path.join(root, 'data', 'runs', 'resumed-run', 'latest', 'checkpoint.json'));
    expect((await services.models.list()).some((m) => m.name === 'Resumed run')).toBe(false);

    const again = await start(request('Resumed run', epochs, true));
    const done = await services.jobs.wait(again.id);
    expect(done.error ?? done.state).toBe('done');
    // It goes on exactly where the cancel stopped: the epoch after the last one reported, from the mini-batch
    // after the last one trained, and on to the last epoch.
    expect(done.epochs.map((e) => e.epoch)).toEqual(Array.from({ length: epochs - reached }, (_, i) => reached + 1 + i));
    const batchesOf = (id: string): number[] => events.flatMap((e) => (e.type === 'batch' && e.jobId === id ? [e.batch] : []));
    const lastBefore = Math.max(...batchesOf(job.id));
    expect(batchesOf(again.id)[0]).toBe(lastBefore + 1);
    expect(done.result).toMatchObject({ kind: 'train', modelId: 'resumed-run' });
    expect((await services.models.list()).find((m) => m.name === 'Resumed run')).toMatchObject({ id: 'resumed-run', hiddenDim: 12 });
  });

  it('a new run named like a cancelled one gets its own id; the cancelled one resumes from its job\'s request', async () => {
    const first = await start(request('Twin', 25));
    expect(first.request).toMatchObject({ name: 'Twin', runId: 'twin', resume: false });
    await until(() => events.some((e) => e.type === 'epoch' && e.jobId === first.id), 'the first epoch');
    services.jobs.cancel(first.id);
    const cancelled = await services.jobs.wait(first.id);
    expect(cancelled.state).toBe('cancelled');
    const checkpoint = path.join(root, 'data', 'runs', 'twin', 'latest', 'checkpoint.json');
    const before = (await stat(checkpoint)).mtimeMs;

    const second = await start(request('Twin', 1));
    expect(second.request?.runId).toBe('twin-2');
    const secondDone = await services.jobs.wait(second.id);
    expect(secondDone.result).toMatchObject({ kind: 'train', modelId: 'twin-2' });
    expect((await stat(checkpoint)).mtimeMs).toBe(before);

    // A model imported under the same name meanwhile gets an id of its own, and the resumed run leaves it alone.
    const bundle = await writeFixedCaptionBundle(path.join(root, 'import-twin'), ['a', 'red', 'square'], 'Twin');
    const imported = await services.call('models.import', { path: bundle });
    expect(imported).toMatchObject({ ok: true, value: { id: 'twin-3', name: 'Twin' } });

    const resumed = await start({ ...cancelled.request!, resume: true, epochs: cancelled.epochs.length + 1 });
    expect(resumed.request?.runId).toBe('twin');
    const resumedDone = await services.jobs.wait(resumed.id);
    expect(resumedDone.error ?? resumedDone.state).toBe('done');
    expect(resumedDone.epochs.map((e) => e.epoch)).toEqual([cancelled.epochs.length + 1]);
    expect(resumedDone.result).toMatchObject({ kind: 'train', modelId: 'twin' });
    expect((await services.models.list()).filter((m) => m.name === 'Twin').map((m) => m.id).sort()).toEqual(['twin', 'twin-2', 'twin-3']);

    const missing = await services.call('train.start', { ...request('Nobody', 1, true) });
    expect(missing).toMatchObject({ ok: false, code: 'not-found' });
  });

  it('lets the UI read the sample images of a run, and nothing else near the dataset; a failed run opens nothing', async () => {
    const outsider = path.join(root, 'outsider.png');
    await writeImage(outsider, [10, 10, 10]);
    const failing = await services.call('train.start', { ...request('Typo', 1), dataset: { path: path.join(root, 'no-such.csv') } });
    if (!failing.ok) throw new Error(failing.error);
    expect((await services.jobs.wait(failing.value.id)).state).toBe('failed');
    await expect(services.media.resolveImage(outsider)).rejects.toThrow(/outside the folders opened in this session/);

    const job = await start(request('Samples', 1));
    const done = await services.jobs.wait(job.id);
    const samples = done.epochs[0]!.samples.map((s) => s.imagePath);
    expect(samples.length).toBeGreaterThan(0);
    for (const sample of samples) await expect(services.media.resolveImage(sample)).resolves.toBe(await realpath(sample));
    await expect(services.media.resolveImage(outsider)).rejects.toThrow(/outside the folders opened in this session/);
    // The other pictures of the dataset's own folder stay closed too.
    const others = (await readdir(dataset)).filter((f) => f.endsWith('.png')).map((f) => path.join(dataset, f)).filter((f) => !samples.includes(f));
    expect(others.length).toBeGreaterThan(0);
    for (const other of others) await expect(services.media.resolveImage(other)).rejects.toThrow(/outside the folders opened in this session/);
  });

  it('streams a run\'s events in order: epochs one after another, all before the job\'s final state', async () => {
    const job = await start(request('Ordered', 4));
    const done = await services.jobs.wait(job.id);
    expect(done.state).toBe('done');
    await until(() => events.some((e) => e.type === 'job' && e.job.id === job.id && e.job.state === 'done'), 'the final job event');
    const mine = events.filter((e) => (e.type === 'job' && e.job.id === job.id) || (e.type === 'epoch' && e.jobId === job.id));
    const epochs = mine.flatMap((e) => (e.type === 'epoch' ? [e.epoch.epoch] : []));
    expect(epochs).toEqual([1, 2, 3, 4]);
    const last = mine.at(-1)!;
    expect(last.type === 'job' && last.job.state).toBe('done');
  });

  it('a run its session left unfinished is listed by the next session, and resumes from its checkpoint there', async () => {
    const job = await start(request('Left behind', 25));
    await until(() => events.some((e) => e.type === 'epoch' && e.jobId === job.id), 'the first epoch');
    await services.call('jobs.cancel', { jobId: job.id }); // as the user does: listed as cancelled, not interrupted
    const stopped = await services.jobs.wait(job.id);
    expect(stopped.state).toBe('cancelled');

    // The next start of the app, on the same data folder.
    const next = await AppServices.create({ mode: 'browser', dataDir: path.join(root, 'data'), cacheDir: path.join(root, 'cache'), builtinModelsDir: path.join(root, 'none') });
    try {
      const listed = next.jobs.list().find((j) => j.request?.runId === 'left-behind')!;
      expect(listed).toMatchObject({ id: 'run-left-behind', kind: 'train', state: 'cancelled', title: 'Train Left behind' });
      expect(listed.epochs.map((e) => [e.epoch, e.trainLoss])).toEqual(stopped.epochs.map((e) => [e.epoch, e.trainLoss]));
      expect(listed.lossCurve.length).toBeGreaterThan(0);
      // Finished runs are not listed again.
      expect(next.jobs.list().some((j) => j.request?.runId === 'paused-run')).toBe(false);

      const resumed = await next.call('train.start', { ...listed.request!, resume: true, epochs: stopped.epochs.length + 1 });
      if (!resumed.ok) throw new Error(resumed.error);
      const done = await next.jobs.wait(resumed.value.id);
      expect(done.error ?? done.state).toBe('done');
      expect(done.epochs.map((e) => e.epoch)).toEqual([stopped.epochs.length + 1]);
      expect(done.result).toMatchObject({ kind: 'train', modelId: 'left-behind' });
    } finally {
      await next.close();
    }
    // Once finished, the run is no longer offered for resuming.
    const after = await AppServices.create({ mode: 'browser', dataDir: path.join(root, 'data'), cacheDir: path.join(root, 'cache'), builtinModelsDir: path.join(root, 'none') });
    try {
      expect(after.jobs.list().some((j) => j.request?.runId === 'left-behind')).toBe(false);
    } finally {
      await after.close();
    }
  });

  it('a run the app stops writes a checkpoint of where it is, is listed as interrupted, and resumes to the model of a run never stopped', async () => {
    const settings = { ...request('Stopped by the app', 3), batchSize: 1, hiddenDim: 32 };
    const open = () => AppServices.create({ mode: 'browser', dataDir: path.join(root, 'data-stopped'), cacheDir: path.join(root, 'cache'), builtinModelsDir: path.join(root, 'none') });
    const first = await open();
    const seen: JobEvent[] = [];
    first.subscribe((e) => {
      seen.push(e);
      // Held inside epoch 2, as a user's run is at any moment; then the app stops (its window closes, Ctrl+C…).
      if (e.type === 'epoch') first.jobs.pause(e.jobId);
    });
    const started = await first.call('train.start', settings);
    if (!started.ok) throw new Error(started.error);
    await until(() => first.jobs.get(started.value.id)?.state === 'paused', 'the run to pause');
    const batchesRun = seen.filter((e) => e.type === 'batch' && e.jobId === started.value.id).length;
    await first.close();
    expect(first.jobs.get(started.value.id)?.state).toBe('interrupted');
    const latest = await readCheckpointMeta(path.join(root, 'data-stopped', 'runs', 'stopped-by-the-app', 'latest'));
    // The checkpoint is where the run stopped, not the end of its last epoch.
    expect(latest.meta.batchLog.length).toBe(batchesRun);
    expect(latest.meta.position.epoch).toBe(1);

    const next = await open();
    try {
      const listed = next.jobs.list().find((j) => j.request?.runId === 'stopped-by-the-app')!;
      expect(listed).toMatchObject({ kind: 'train', state: 'interrupted', title: 'Train Stopped by the app (interrupted)' });
      expect(listed.progress?.message).toBe(`stopped at epoch 2 of 3, after batch ${latest.meta.position.batchInEpoch} of that epoch`);
      const resumed = await next.call('train.start', { ...listed.request!, resume: true });
      if (!resumed.ok) throw new Error(resumed.error);
      const done = await next.jobs.wait(resumed.value.id);
      expect(done.error ?? done.state).toBe('done');
      const straight = await start({ ...settings, name: 'Never stopped' });
      expect((await services.jobs.wait(straight.id)).state).toBe('done');
      const weights = async (dir: string) => (JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as { weightsSha256: string }).weightsSha256;
      expect(await weights(path.join(root, 'data-stopped', 'models', 'stopped-by-the-app'))).toBe(await weights(path.join(root, 'data', 'models', 'never-stopped')));
    } finally {
      await next.close();
    }
  });

  it('allows one training run at a time', async () => {
    const first = await start(request('One', 3));
    const second = await services.call('train.start', request('Two', 3));
    expect(second).toMatchObject({ ok: false, code: 'conflict' });
    await services.jobs.wait(first.id);
  });
});
