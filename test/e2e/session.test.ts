/**
 * Browser mode after a server restart: the new server has a new access token, so the open page can never get back
 * in. Instead of "Reconnecting…" forever beside runs that no longer exist, it says that its session has ended and
 * where to go, and stops showing the old server's runs as running.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src-main/server/http-server.ts';
import { writeSidecarDataset } from '../services/fixtures.ts';
import { ensureRendererBuilt, startHarness, type Harness } from './harness.ts';

let h: Harness;
let replacement: RunningServer | null = null;

beforeAll(async () => {
  h = await startHarness('session');
});
afterAll(async () => {
  await replacement?.close();
  await h?.close();
});

const poll = <T>(fn: () => T | Promise<T>, timeout = 30_000) => expect.poll(fn, { timeout, interval: 100 });

describe('a browser page whose server was restarted', () => {
  it('says its session has ended instead of reconnecting forever, and no longer shows the old runs as running', async () => {
    const { page, services } = h;
    // A training run held (paused) at its first epoch, so that the page shows it as a job in progress (paused).
    const dataset = await writeSidecarDataset(path.join(h.root, 'colours'));
    const hold = services.subscribe((e) => {
      if (e.type === 'epoch') services.jobs.pause(e.jobId);
    });
    const started = await services.call('train.start', { dataset: { path: dataset }, name: 'Held', epochs: 50, batchSize: 4, hiddenDim: 8, embedDim: 8, schedule: { type: 'none' } });
    if (!started.ok) throw new Error(started.error);
    await poll(() => page.locator('[data-testid=jobs-running]').textContent(), 120_000).toBe('1 job paused');
    hold();

    const port = h.server.port;
    await h.server.close();
    await poll(() => page.getByText('Reconnecting…').count()).toBe(1);
    replacement = await startServer({ services, rendererDir: await ensureRendererBuilt(), port });
    expect(replacement.token).not.toBe(h.server.token);

    await poll(() => page.locator('[data-testid=session-ended]').textContent()).toContain("This page's session has ended");
    expect(await page.getByText('Reconnecting…').count()).toBe(0);
    expect(await page.locator('[data-testid=jobs-running]').count()).toBe(0);
    await h.screenshot('10-session-ended');
    services.jobs.cancel(started.value.id);
    await services.jobs.wait(started.value.id);
  });
});
