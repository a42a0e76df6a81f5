/**
 * Where an export may write: never into a hidden file or folder of the home directory (`~/.bashrc` was replaced by
 * CSV rows), and over an existing file only when it is an earlier export's output or the user said so — the
 * request's overwrite in browser mode (after the page asks), the save dialog or the main process's own question
 * in the desktop app.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppServices } from '../../src-main/services/app-services.ts';
import { checkExportTarget, hiddenHomeEntry } from '../../src-main/services/export-target.ts';
import { writeFixedCaptionBundle, writeImage } from './fixtures.ts';

let root: string;
let home: string;
let images: string;
let services: AppServices;
const savedHome = process.env.HOME;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-export-target-'));
  home = path.join(root, 'home');
  process.env.HOME = home;
  await mkdir(path.join(home, '.config'), { recursive: true });
  await writeFile(path.join(home, '.bashrc'), 'export PATH=$HOME/bin:$PATH\n');
  images = path.join(home, 'photos');
  await writeImage(path.join(images, 'one.png'), [200, 20, 20]);
  await writeFixedCaptionBundle(path.join(root, 'builtin', 'default'), ['a', 'red', 'square']);
  services = await AppServices.create({ mode: 'browser', dataDir: path.join(root, 'data'), cacheDir: path.join(root, 'cache'), builtinModelsDir: path.join(root, 'builtin') });
});
afterAll(async () => {
  process.env.HOME = savedHome;
  await services?.close();
  await rm(root, { recursive: true, force: true });
});

const exportTo = (outPath: string, overwrite?: boolean) =>
  services.call('export.start', { source: { path: images }, format: 'csv', outPath, ...(overwrite === undefined ? {} : { overwrite }) });

async function finished(call: ReturnType<typeof exportTo>): Promise<void> {
  const r = await call;
  if (!r.ok) throw new Error(r.error);
  const done = await services.jobs.wait(r.value.id);
  expect(done.error ?? done.state).toBe('done');
  // The finished job is recorded as an earlier export.
  const written = (done.result as { outPath: string }).outPath;
  await expect.poll(() => readFile(path.join(root, 'data', 'exports.json'), 'utf8').catch(() => '')).toContain(JSON.stringify(written));
}

describe('an export', () => {
  it('never writes a hidden file or folder of the home directory, even when told to overwrite', async () => {
    for (const target of [path.join(home, '.bashrc'), path.join(home, '.config', 'autostart.csv'), path.join(home, '.ssh', 'authorized_keys')]) {
      for (const overwrite of [undefined, true]) {
        const r = await exportTo(target, overwrite);
        expect(r, target).toMatchObject({ ok: false, code: 'validation', error: expect.stringContaining(`${target}: is in the hidden`) });
      }
    }
    expect(await readFile(path.join(home, '.bashrc'), 'utf8')).toBe('export PATH=$HOME/bin:$PATH\n');
    expect(hiddenHomeEntry(path.join(home, 'photos', 'captions.csv'), home)).toBeNull();
    expect(hiddenHomeEntry('/tmp/.x/y.csv', home)).toBeNull(); // outside the home folder: not this rule's business
  });

  it('refuses to replace a file that is not an earlier export (a conflict), unless the request says overwrite', async () => {
    const notes = path.join(home, 'notes.csv');
    await writeFile(notes, 'my,own,data\n');
    expect(await exportTo(notes)).toMatchObject({ ok: false, code: 'conflict', error: `${notes}: exists and is not an earlier export; replace it only if you mean to (overwrite)` });
    expect(await readFile(notes, 'utf8')).toBe('my,own,data\n');
    await finished(exportTo(notes, true));
    expect(await readFile(notes, 'utf8')).toMatch(/^path,caption,score,model/);
  });

  it('writes a new file, and replaces its own earlier output without asking (also after a restart)', async () => {
    const out = path.join(home, 'exports', 'captions.csv');
    await finished(exportTo(out));
    await finished(exportTo(out));
    const next = await AppServices.create({ mode: 'browser', dataDir: path.join(root, 'data'), cacheDir: path.join(root, 'cache'), builtinModelsDir: path.join(root, 'builtin') });
    try {
      const r = await next.call('export.start', { source: { path: images }, format: 'csv', outPath: out });
      expect(r.ok).toBe(true);
      if (r.ok) await next.jobs.wait(r.value.id);
    } finally {
      await next.close();
    }
  });

  it('in the desktop app: replaces a file chosen in the save dialog; asks for any other, and keeps it on "Cancel"', async () => {
    const other = path.join(home, 'other.csv');
    await writeFile(other, 'keep me\n');
    const asked: string[] = [];
    const policy = (answer: boolean, chosen: string[] = []) => ({ previousExports: new Set<string>(), chosenInDialog: new Set(chosen), overwrite: true, home, confirmOverwrite: async (f: string) => (asked.push(f), answer) });
    await expect(checkExportTarget(other, policy(false))).rejects.toThrow(`${other}: exists; not replaced`);
    await expect(checkExportTarget(other, policy(true))).resolves.toBeUndefined();
    await expect(checkExportTarget(other, policy(false, [other]))).resolves.toBeUndefined();
    expect(asked).toEqual([other, other]);
  });
});
