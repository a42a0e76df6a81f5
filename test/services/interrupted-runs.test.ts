/**
 * Which runs an earlier session left are listed at the next start, and how: stopped by the app (the window closed,
 * Ctrl+C) → 'interrupted', also before its first checkpoint (it then starts over); cancelled by the user →
 * 'cancelled'; a run folder with nothing to say who stopped it and no checkpoint → not listed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interruptedRuns, markRunStopped, saveRunRequest } from '../../src-main/services/interrupted-runs.ts';

let runs: string;
beforeAll(async () => {
  runs = await mkdtemp(path.join(os.tmpdir(), 'cs-runs-'));
});
afterAll(async () => {
  await rm(runs, { recursive: true, force: true });
});

const request = (name: string, runId: string) => ({ dataset: { path: '/data/set' }, name, epochs: 3, batchSize: 4, hiddenDim: 8, schedule: { type: 'none' as const }, runId });

describe('interruptedRuns', () => {
  it('lists a run the app stopped before its first checkpoint as interrupted; a user cancel as cancelled; no note and no checkpoint: nothing', async () => {
    await saveRunRequest(path.join(runs, 'early'), request('Early', 'early'));
    await markRunStopped(path.join(runs, 'early'), 'app');
    await saveRunRequest(path.join(runs, 'by-user'), request('By user', 'by-user'));
    await markRunStopped(path.join(runs, 'by-user'), 'user');
    await saveRunRequest(path.join(runs, 'silent'), request('Silent', 'silent'));
    const listed = await interruptedRuns(runs);
    expect(listed.map((j) => [j.request?.runId, j.state, j.title])).toEqual([['early', 'interrupted', 'Train Early (interrupted)']]);
    expect(listed[0]!.progress?.message).toBe('stopped before its first checkpoint (while reading the data); resuming starts it over');
    expect(listed[0]!.request).toMatchObject({ runId: 'early', resume: false });
    // Started again: no longer stopped.
    await saveRunRequest(path.join(runs, 'early'), request('Early', 'early'));
    expect(await interruptedRuns(runs)).toEqual([]);
  });
});
