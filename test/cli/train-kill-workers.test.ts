/**
 * A data-parallel training run (`train --workers 2`) killed outright (SIGKILL, no checkpoint written on the way
 * out) part-way through an epoch, then `--resume`d: it continues from the last checkpoint and ends with exactly the
 * weights, Adam moments and history of a run that was never interrupted.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_MODEL, runCli, startCli, tempDir, writeShapesDataset } from './cli-fixtures.ts';

let root: string;
let cleanup: () => Promise<void>;
let dataset: string;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('cs-cli-kill-workers-'));
  dataset = path.join(root, 'shapes');
  await writeShapesDataset(dataset);
});

afterAll(async () => {
  await cleanup();
});

/** Default dropout and scheduled sampling (so the per-example randomness matters), two worker threads. */
const trainArgs = (out: string, ...more: string[]): string[] => [
  'train', dataset, '--out', out, '--cache', path.join(root, 'cache'), ...TINY_MODEL,
  '--epochs', '4', '--batch', '6', '--seed', '3', '--workers', '2', '--schedule', 'linear', '--c', '0.02', '--eps-min', '0.5', '-q', ...more,
];

async function checkpointOf(out: string): Promise<{ weights: Buffer; history: unknown; position: unknown }> {
  const latest = path.join(out, 'checkpoints', 'latest');
  const meta = JSON.parse(await readFile(path.join(latest, 'checkpoint.json'), 'utf8')) as { history: { trainLoss: number; valLoss: number }[]; position: unknown };
  return {
    weights: await readFile(path.join(latest, 'weights.bin')),
    history: meta.history.map((h) => [h.trainLoss, h.valLoss]),
    position: meta.position,
  };
}

describe('train --workers 2 killed mid-epoch', () => {
  it('resumes from its last checkpoint to exactly the uninterrupted run', async () => {
    const whole = path.join(root, 'whole');
    const a = await runCli(trainArgs(whole));
    expect(a.code, a.stderr).toBe(0);

    const killed = path.join(root, 'killed');
    const running = startCli([...trainArgs(killed).filter((x) => x !== '-q')]);
    await running.waitForStderr(/^epoch 1\/4: /m, 120_000);
    running.child.kill('SIGKILL');
    const stopped = await running.done;
    expect(stopped.signal).toBe('SIGKILL');
    const cut = await checkpointOf(killed);
    expect((cut.position as { epoch: number }).epoch).toBeLessThan(4);

    const resumed = await runCli(trainArgs(killed, '--resume'));
    expect(resumed.code, resumed.stderr).toBe(0);
    const [x, y] = [await checkpointOf(whole), await checkpointOf(killed)];
    expect(y.history).toEqual(x.history);
    expect(y.position).toEqual(x.position);
    expect(y.weights.equals(x.weights)).toBe(true); // weights and Adam moments, bit for bit
  });
});
