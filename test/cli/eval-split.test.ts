/**
 * A model must say which images it never saw before `eval` scores it: one that records no split, or a split without
 * test images, is refused by `eval` (with the reason) and described by `info`, instead of scoring seen images.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFixedCaptionBundle, writeSidecarDataset } from '../services/fixtures.ts';
import { runCli, tempDir } from './cli-fixtures.ts';

let root: string;
let cleanup: () => Promise<void>;
let dataset: string;

/** A bundle whose provenance records `split` (or nothing). */
async function bundleWithSplit(name: string, split: unknown): Promise<string> {
  const dir = await writeFixedCaptionBundle(path.join(root, name), ['a', 'red', 'square']);
  const file = path.join(dir, 'model.json');
  const json = JSON.parse(await readFile(file, 'utf8')) as { provenance: Record<string, unknown> };
  if (split !== undefined) json.provenance.split = split;
  await writeFile(file, JSON.stringify(json));
  return dir;
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('cs-cli-split-'));
  dataset = await writeSidecarDataset(path.join(root, 'colours'));
});
afterAll(async () => {
  await cleanup();
});

describe('models without held-out test images', () => {
  it('no split recorded: eval refuses the test and val splits in one line, info says so', async () => {
    const model = await bundleWithSplit('no-split', undefined);
    const r = await runCli(['eval', model, dataset]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      `caption-studio: ${model}: the model records no split, so which images it trained on is unknown: it has no held-out test images; --split all scores every image anyway (not a held-out figure)`,
    );
    expect((await runCli(['eval', model, dataset, '--split', 'val'])).code).toBe(1);
    const all = await runCli(['eval', model, dataset, '--split', 'all', '--json']);
    expect(all.code).toBe(0);
    expect((JSON.parse(all.stdout) as { images: number }).images).toBe(8);

    const info = await runCli(['info', model]);
    expect(info.stdout).toContain('split       none recorded (eval cannot hold out its training images)\n');
    const json = JSON.parse((await runCli(['info', model, '--json'])).stdout) as { heldOut: { testSplit: boolean; split: { kind: string } } };
    expect(json.heldOut).toMatchObject({ testSplit: false, split: { kind: 'none' } });
  });

  it('a seeded split with no test share: eval refuses the test split, still scores val; info says so', async () => {
    const model = await bundleWithSplit('no-test', { seed: 1, valFraction: 0.25, testFraction: 0 });
    const r = await runCli(['eval', model, dataset]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the model was trained with no test split (test fraction 0)');
    const val = await runCli(['eval', model, dataset, '--split', 'val', '--json']);
    expect(val.code).toBe(0);
    const info = await runCli(['info', model]);
    expect(info.stdout).toContain('split       seed 1, 25% validation, 0% test (no test images: eval has nothing held out)\n');
  });

  it('a recorded seeded split with test images is described and held out', async () => {
    const model = await bundleWithSplit('seeded', { seed: 1, valFraction: 0.1, testFraction: 0.1 });
    const info = await runCli(['info', model, '--json']);
    expect(JSON.parse(info.stdout)).toMatchObject({ heldOut: { testSplit: true, split: { kind: 'seeded', split: { seed: 1, valFraction: 0.1, testFraction: 0.1 } } } });
    expect((await runCli(['info', model])).stdout).toContain('split       seed 1, 10% validation, 10% test\n');
  });
});
