import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFolder } from '../../src-main/services/fs-browser.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-fs-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('listFolder (browser-mode picker)', () => {
  it('lists folders first, then files, and counts the hidden entries it leaves out', async () => {
    const dir = path.join(root, 'mixed');
    await mkdir(path.join(dir, 'zeta'), { recursive: true });
    await mkdir(path.join(dir, '.cache'), { recursive: true });
    await writeFile(path.join(dir, 'a.jpg'), 'x');
    await writeFile(path.join(dir, '.bashrc'), 'x');
    const listing = await listFolder(dir);
    expect(listing.entries.map((e) => [e.name, e.kind])).toEqual([['zeta', 'dir'], ['a.jpg', 'file']]);
    expect(listing.hidden).toBe(2);
    expect(listing.parent).toBe(root);
  });

  it('a folder of hidden entries only says how many it hides', async () => {
    const dir = path.join(root, 'dots');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, '.profile'), 'x');
    expect(await listFolder(dir)).toMatchObject({ entries: [], hidden: 1 });
  });

  it('offers a place once when two names lead to the same folder', async () => {
    const before = process.cwd();
    process.chdir(os.homedir());
    try {
      const { places } = await listFolder(root, [{ label: 'Also home', path: os.homedir() }]);
      expect(places.map((p) => p.path)).toEqual([os.homedir()]);
    } finally {
      process.chdir(before);
    }
  });
});
