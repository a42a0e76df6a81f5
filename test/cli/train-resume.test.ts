/**
 * `caption-studio train` stopped with SIGINT (Ctrl-C) part-way, then continued with `--resume`: the interrupted
 * run exits 130 with a checkpoint and says how to go on; the resumed run starts where it stopped, refuses a
 * different model size, and ends with the same history as a run that was never interrupted.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_MODEL, messageLines, runCli, startCli, tempDir, writeShapesDataset } from './cli-fixtures.ts';

interface EpochRecord {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly valLoss: number | null;
}

let root: string;
let cleanup: () => Promise<void>;
let dataset: string;
let cache: string;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('cs-cli-resume-'));
  dataset = path.join(root, 'shapes');
  cache = path.join(root, 'cache');
  await writeShapesDataset(dataset);
});

afterAll(async () => {
  await cleanup();
});

/** The train command line for `out` (the scheduled-sampling schedule is the default one, so sampling is on). */
function trainArgs(out: string, ...more: string[]): string[] {
  return ['train', dataset, '--out', out, '--cache', cache, ...TINY_MODEL, '--batch', '4', '--patience', '0', ...more];
}

/** Number of files anywhere under `dir` (0 when it does not exist). */
async function filesUnder(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).length;
}

/** Polls `condition` every 20 ms until it holds (rejects after `timeoutMs`). */
async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function historyOf(modelDir: string): Promise<EpochRecord[]> {
  const json = JSON.parse(await readFile(path.join(modelDir, 'model.json'), 'utf8')) as { training: { history: EpochRecord[] } };
  return json.training.history;
}

describe('train interrupted with SIGINT, then --resume', () => {
  it('stops with a checkpoint and exit 130, refuses a restart or another size, and resumes to the same result', async () => {
    const out = path.join(root, 'interrupted');
    // Far more epochs than it will get to run: SIGINT once the first epoch is reported.
    const running = startCli(trainArgs(out, '--epochs', '200', '--seed', '3'));
    await running.waitForStderr(/^epoch 1\/200: /m);
    running.child.kill('SIGINT');
    const stopped = await running.done;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain('interrupted: finishing the current mini-batch and writing a checkpoint');
    const latest = path.join(out, 'checkpoints', 'latest');
    const last = messageLines(stopped.stderr).at(-1)!;
    expect(last).toMatch(/^caption-studio: training cancelled at epoch \d+, batch \d+; resume continues there/);
    expect(last).toContain(`(checkpoint in ${latest}; run the same command with --resume)`);
    expect(stopped.stderr).not.toMatch(/^\s+at /m);
    // A checkpoint, but no finished model in --out yet.
    const checkpoint = JSON.parse(await readFile(path.join(latest, 'checkpoint.json'), 'utf8')) as {
      config: { epochs: number; seed: number; hiddenDim: number };
      position: { epoch: number; batchInEpoch: number };
      history: EpochRecord[];
    };
    expect(checkpoint.config).toMatchObject({ epochs: 200, seed: 3, hiddenDim: 32 });
    // The checkpoint holds the position the message names (usually part-way through an epoch).
    const [, epochAt, batchAt] = /cancelled at epoch (\d+), batch (\d+)/.exec(last)!;
    expect(checkpoint.position).toMatchObject({ epoch: Number(epochAt) - 1, batchInEpoch: Number(batchAt) - 1 });
    const done = checkpoint.position.epoch;
    expect(done).toBeGreaterThanOrEqual(1);
    expect(done).toBeLessThan(200);
    expect(checkpoint.history.map((h) => h.epoch)).toEqual(Array.from({ length: done }, (_, i) => i + 1));
    expect(existsSync(path.join(out, 'model.json'))).toBe(false);

    // The same command again without --resume would throw the run away: refused, naming both ways on.
    const again = await runCli(trainArgs(out, '--epochs', '200', '--seed', '3'));
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`caption-studio: ${out} already holds a training run: add --resume to continue it, or --overwrite to start afresh\n`);

    // A different model size cannot continue these weights.
    const bigger = await runCli([...trainArgs(out, '--epochs', '200', '--resume'), '--hidden', '64']);
    expect(bigger.code).toBe(1);
    const refusal = messageLines(bigger.stderr).filter((l) => l.startsWith('caption-studio:'));
    expect(refusal).toHaveLength(1);
    expect(refusal[0]).toContain('hiddenDim: checkpoint 32, requested 64');

    // A kill in the instant the checkpoint folder is swapped leaves it moved aside: --resume puts it back.
    await rename(latest, path.join(path.dirname(latest), '.latest.old-0123456789ab'));

    // Resume to a few epochs past the interruption. --seed is left out: the run's own split and seed are used.
    const epochs = done + 2;
    const resumed = await runCli(trainArgs(out, '--epochs', String(epochs), '--resume'));
    expect(resumed.stderr).not.toMatch(/^caption-studio:/m);
    expect(resumed.code).toBe(0);
    const reported = [...resumed.stderr.matchAll(/^epoch (\d+)\/(\d+): /gm)].map((m) => [Number(m[1]), Number(m[2])]);
    // It goes on from the checkpoint: no epoch before the interrupted one is trained again.
    expect(reported[0]![0]).toBeGreaterThan(done);
    expect(reported.at(-1)).toEqual([epochs, epochs]);
    const history = await historyOf(out);
    expect(history.map((h) => h.epoch)).toEqual(Array.from({ length: epochs }, (_, i) => i + 1));

    // Known answer: an uninterrupted run of as many epochs with the same seed has the same history.
    const straightDir = path.join(root, 'straight');
    const straight = await runCli(trainArgs(straightDir, '--epochs', String(epochs), '--seed', '3'));
    expect(straight.code).toBe(0);
    const reference = await historyOf(straightDir);
    expect(history.map((h) => h.trainLoss)).toEqual(reference.map((h) => h.trainLoss));
    expect(history.map((h) => h.valLoss)).toEqual(reference.map((h) => h.valLoss));
  }, 300_000); // five CLI runs, each loading tfjs and the encoder: slow on a busy 2-core machine

  it('SIGINT during feature extraction: exit 130, and the features already computed are reused by the next run', async () => {
    const bigger = path.join(root, 'shapes-48');
    await writeShapesDataset(bigger, { variants: 2 });
    const freshCache = path.join(root, 'cache-48');
    const out = path.join(root, 'during-extraction');
    const args = ['train', bigger, '--out', out, '--cache', freshCache, ...TINY_MODEL, '--epochs', '1'];
    const running = startCli(args);
    // Only the train and val pictures are encoded (the seeded test split is left for eval).
    await running.waitForStderr(/^extract 0\/\d+ /m);
    const total = Number(/^extract 0\/(\d+) /m.exec(running.stderr())![1]);
    // SIGINT once the first features are on disk (the first batch of 16 is encoded; two more are to come).
    await waitUntil(async () => (await filesUnder(freshCache)) > 0, 30_000);
    running.child.kill('SIGINT');
    const stopped = await running.done;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain('interrupted: stopping feature extraction');
    expect(messageLines(stopped.stderr).at(-1)).toBe(
      'caption-studio: feature extraction cancelled: features computed so far are cached; run the same command again to go on',
    );
    expect(existsSync(path.join(out, 'checkpoints'))).toBe(false);

    const again = await runCli(args);
    expect(again.code).toBe(0);
    const [, cached, computed] = new RegExp(`^extract ${total}/${total} cached (\\d+) · computed (\\d+)`, 'm').exec(again.stderr)!;
    expect(Number(cached)).toBeGreaterThan(0);
    expect(Number(cached) + Number(computed)).toBe(total);
  });

  it('--resume with nothing to resume is refused in one line', async () => {
    const out = path.join(root, 'empty-run');
    const r = await runCli(trainArgs(out, '--resume'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `caption-studio: ${out}: nothing to resume (no checkpoint in ${path.join(out, 'checkpoints', 'latest')}); leave out --resume to start a run\n`,
    );
  });
});
