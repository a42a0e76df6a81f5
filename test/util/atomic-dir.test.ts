import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { replaceDirAtomic, restoreMovedAside, writeFileSynced } from '../../src-main/util/atomic-dir.ts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'cs-atomic-dir-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('replaceDirAtomic', () => {
  it('creates, then replaces a folder as a whole, leaving nothing beside it', async () => {
    const target = path.join(root, 'run', 'latest');
    await replaceDirAtomic(target, (dir) => writeFileSynced(path.join(dir, 'a.txt'), 'one'));
    await replaceDirAtomic(target, (dir) => writeFileSynced(path.join(dir, 'b.txt'), 'two'));
    expect(await readdir(target)).toEqual(['b.txt']);
    expect(await readdir(path.dirname(target))).toEqual(['latest']);
  });

  it('keeps the old content when filling the new one fails', async () => {
    const target = path.join(root, 'latest');
    await replaceDirAtomic(target, (dir) => writeFileSynced(path.join(dir, 'a.txt'), 'one'));
    await expect(replaceDirAtomic(target, async () => Promise.reject(new Error('disk full')))).rejects.toThrow('disk full');
    expect(await readFile(path.join(target, 'a.txt'), 'utf8')).toBe('one');
    expect(await readdir(root)).toEqual(['latest']);
  });
});

describe('restoreMovedAside', () => {
  it('after a crash between the two renames, puts the newest moved-aside copy back', async () => {
    const target = path.join(root, 'latest');
    for (const [suffix, text, seconds] of [['aaa', 'older', 1000], ['bbb', 'newer', 2000]] as const) {
      const dir = path.join(root, `.latest.old-${suffix}`);
      await mkdir(dir);
      await writeFile(path.join(dir, 'checkpoint.json'), text);
      await utimes(dir, seconds, seconds);
    }
    expect(await restoreMovedAside(target)).toBe(true);
    expect(await readFile(path.join(target, 'checkpoint.json'), 'utf8')).toBe('newer');
    expect(await readdir(root)).toEqual(['latest']);
  });

  it('finds the complete copy: a replacement first clears what earlier crashes left beside the folder', async () => {
    const target = path.join(root, 'latest');
    await replaceDirAtomic(target, (dir) => writeFileSynced(path.join(dir, 'checkpoint.json'), 'complete'));
    // A crash while removing an old copy (half of it gone, touched last), and an unfinished temporary folder.
    await mkdir(path.join(root, '.latest.old-half'));
    await mkdir(path.join(root, '.latest.tmp-unfinished'));
    await replaceDirAtomic(target, (dir) => writeFileSynced(path.join(dir, 'checkpoint.json'), 'newest'));
    expect(await readdir(root)).toEqual(['latest']);
  });

  it('leaves an existing folder alone, and does nothing where nothing was moved aside', async () => {
    const target = path.join(root, 'latest');
    expect(await restoreMovedAside(target)).toBe(false);
    await replaceDirAtomic(target, (dir) => writeFileSynced(path.join(dir, 'a.txt'), 'current'));
    await mkdir(path.join(root, '.latest.old-ccc'));
    expect(await restoreMovedAside(target)).toBe(false);
    expect(await readFile(path.join(target, 'a.txt'), 'utf8')).toBe('current');
    expect(await restoreMovedAside(path.join(root, 'missing-parent', 'latest'))).toBe(false);
  });
});
