/**
 * Temporary files of killed saves are cleared: a dataset's at its next save, the app's own (settings, models,
 * training runs) at the next start — only files and folders of our own naming pattern, and temporary files only
 * once they are over a minute old (a younger one may be another program's save in progress).
 */
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, saveDataset } from '../../src-main/data/dataset.ts';
import { clearLeftovers } from '../../src-main/services/leftovers.ts';
import { readBundleInfo } from '../../src-main/engine/bundle.ts';
import { writeFixedCaptionBundle } from './fixtures.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-leftovers-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes a file dated an hour ago (a leftover of a save killed long enough ago). */
async function old(file: string, content = 'partial'): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, content);
  const hourAgo = new Date(Date.now() - 3600_000);
  await utimes(file, hourAgo, hourAgo);
}

describe('temporary files of killed saves', () => {
  it('are removed from the dataset folder at the next save of that dataset; younger ones and other files stay', async () => {
    const dir = path.join(root, 'dataset');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'a.jpg'), '');
    await writeFile(path.join(dir, 'd2000.csv'), 'image,caption\na.jpg,one\n');
    await old(path.join(dir, '.d2000.csv.0a1b2c3d4e5f.tmp'));
    await old(path.join(dir, '.d2000.csv.ffffffffffff.tmp'));
    await writeFile(path.join(dir, '.d2000.csv.123456abcdef.tmp'), 'someone saving right now');
    await old(path.join(dir, '.hidden-notes'));
    await old(path.join(dir, '.other.csv.0a1b2c3d4e5f.tmp'));
    const dataset = await loadDataset(path.join(dir, 'd2000.csv'));
    await saveDataset(dataset, [{ id: 'a.jpg', captions: ['two'] }]);
    expect((await readdir(dir)).sort()).toEqual(['.d2000.csv.123456abcdef.tmp', '.hidden-notes', '.other.csv.0a1b2c3d4e5f.tmp', 'a.jpg', 'd2000.csv']);
  });

  it('are cleared from settings, models and runs at start, and a model moved aside by a kill is put back', async () => {
    const data = path.join(root, 'data');
    const models = path.join(data, 'models');
    const runs = path.join(data, 'runs');
    await old(path.join(data, '.settings.json.0a1b2c3d4e5f.tmp'));
    await writeFile(path.join(data, 'settings.json'), '{}');
    await writeFixedCaptionBundle(path.join(models, '.kept.old-0123456789ab'), ['a', 'cat'], 'Kept');
    await old(path.join(models, '.kept.tmp-0123456789ab', 'weights.bin'));
    await writeFixedCaptionBundle(path.join(models, 'other'), ['a', 'dog'], 'Other');
    await old(path.join(models, 'other', '.model.json.0a1b2c3d4e5f.tmp'));
    await old(path.join(models, 'half.importing', 'model.json'));
    await old(path.join(runs, 'r1', '.request.json.0a1b2c3d4e5f.tmp'));
    await writeFile(path.join(runs, 'r1', 'request.json'), '{}');
    await old(path.join(runs, 'r1', '.latest.tmp-0123456789ab', 'checkpoint.json'));
    await old(path.join(runs, 'r1', 'best', '.weights.bin.0a1b2c3d4e5f.tmp'));

    await clearLeftovers(data, models, runs);
    expect((await readdir(data)).sort()).toEqual(['models', 'runs', 'settings.json']);
    expect((await readdir(models)).sort()).toEqual(['kept', 'other']);
    expect((await readBundleInfo(path.join(models, 'kept'))).name).toBe('Kept');
    expect((await readdir(path.join(models, 'other'))).sort()).toEqual(['model.json', 'weights.bin']);
    expect((await readdir(path.join(runs, 'r1'))).sort()).toEqual(['best', 'request.json']);
    expect(await readdir(path.join(runs, 'r1', 'best'))).toEqual([]);
  });
});
