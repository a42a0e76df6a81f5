/**
 * `compare.start` through the services, as both front ends call it: requests are validated on the main side (one
 * line naming the field), the study runs as one job in a training worker (a training run is refused meanwhile),
 * a cancelled study started again resumes without redoing its finished runs, and the kept model is listed.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestOf } from '../../src-main/contract/schemas.ts';
import type { AppServices } from '../../src-main/services/app-services.ts';
import { SIDECAR_SAMPLES, servicesInTempDir, writeSidecarDataset } from './fixtures.ts';

let services: AppServices;
let close: () => Promise<void>;
let dataset: string;
let dataDir: string;

beforeAll(async () => {
  let root = '';
  ({ services, close, root } = await servicesInTempDir('cs-services-compare-', async (r) => {
    dataset = await writeSidecarDataset(path.join(r, 'squares'), [...SIDECAR_SAMPLES, ...SIDECAR_SAMPLES.map((s) => ({ ...s, name: `b-${s.name}` }))]);
  }));
  dataDir = path.join(root, 'data');
});
afterAll(async () => {
  await close();
});

const request = (): RequestOf<'compare.start'> => ({
  dataset: { path: dataset },
  name: 'Squares study',
  schedules: ['none', 'always'],
  seeds: 2,
  epochs: 3,
  batchSize: 4,
  hiddenDim: 8,
  embedDim: 8,
  minCount: 1,
});

describe('compare.start', () => {
  it('refuses bad requests with one line naming the field, and starts no job', async () => {
    const refused = async (payload: unknown): Promise<string> => {
      const r = await services.call('compare.start', payload);
      if (r.ok) throw new Error('accepted');
      expect(r.code).toBe('validation');
      return r.error;
    };
    expect(await refused({ ...request(), schedules: ['none', 'sometimes'] })).toMatch(/^compare\.start: invalid request — schedules\.1: /);
    expect(await refused({ ...request(), schedules: ['none', 'none'] })).toBe('compare.start: invalid request — schedules: a schedule is named twice');
    expect(await refused({ ...request(), schedules: [] })).toMatch(/schedules: /);
    expect(await refused({ ...request(), seeds: 0 })).toMatch(/seeds: /);
    expect(await refused({ ...request(), testFraction: 0 })).toMatch(/testFraction: /);
    expect(services.jobs.list()).toEqual([]);
  });

  it('runs as one job; cancelled and started again, it resumes without redoing finished runs', async () => {
    // Cancel once the second run has reported an epoch.
    const runsSeen = new Set<string>();
    const stop = services.subscribe((e) => {
      if (e.type !== 'study') return;
      runsSeen.add(e.point.run);
      if (runsSeen.size === 2) services.jobs.cancel(e.jobId);
    });
    const first = await services.call('compare.start', request());
    if (!first.ok) throw new Error(first.error);
    expect(first.value).toMatchObject({ kind: 'compare', title: 'Compare schedules: Squares study' });
    const refused = await services.call('train.start', { dataset: { path: dataset }, name: 'x', epochs: 1, batchSize: 4, hiddenDim: 8, schedule: { type: 'none' } });
    expect(refused).toMatchObject({ ok: false, code: 'conflict' });
    const cancelled = await services.jobs.wait(first.value.id);
    stop();
    expect(cancelled.state).toBe('cancelled');
    const studyDir = path.join(dataDir, 'studies', 'squares-study');
    expect(existsSync(path.join(studyDir, 'runs', 'none-seed1', 'result.json'))).toBe(true);
    expect(existsSync(path.join(studyDir, 'runs', 'none-seed2', 'result.json'))).toBe(false);

    const again = await services.call('compare.start', request());
    if (!again.ok) throw new Error(again.error);
    const done = await services.jobs.wait(again.value.id);
    expect(done.state, done.error ?? '').toBe('done');
    if (done.result?.kind !== 'compare') throw new Error('not a study result');
    expect(done.result.trained).toBe(3);
    expect(done.result.rows.map((r) => [r.schedule, r.runs])).toEqual([['none', 2], ['always', 2]]);
    // The finished run is charted from its record: every run has its 3 epochs.
    expect(done.study).toHaveLength(12);
    expect(done.result.files.csv).toBe(path.join(studyDir, 'compare.csv'));
    const models = await services.call('models.list', {});
    if (!models.ok) throw new Error(models.error);
    expect(models.value.map((m) => m.id)).toContain(done.result.modelId);
  });
});
