import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSidecar, saveSidecar } from '../../../src-main/data/formats/sidecar.ts';
import { tempDir, writeTree } from '../fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  await writeTree(dir, {
    'a.jpg': null,
    'a.txt': 'A dog runs.\nA brown dog.\n\nA dog runs.\n',
    'b.jpg': null,
    'c.jpg': null,
    'c.txt': 'From txt\n',
    'c.caption': 'From caption\n',
    'orphan.txt': 'nobody\n',
    'sub dir/ảnh 1.png': null,
    'sub dir/ảnh 1.caption': '\uFEFFCon chó chạy\r\n   \r\nMột con chó 🐕\r\n',
    '.hidden/x.jpg': null,
    '.hidden/x.txt': 'hidden\n',
  });
});
afterEach(() => cleanup());

describe('readSidecar', () => {
  it('reads images recursively with their .txt/.caption captions', async () => {
    const ds = await readSidecar(dir);
    expect(ds.format).toBe('sidecar');
    expect(ds.source).toBe(dir);
    expect(ds.splits).toEqual({ kind: 'none' });
    expect(ds.items).toEqual([
      { id: 'a.jpg', imagePath: path.join(dir, 'a.jpg'), captions: ['A dog runs.', 'A brown dog.'] },
      { id: 'b.jpg', imagePath: path.join(dir, 'b.jpg'), captions: [] },
      { id: 'c.jpg', imagePath: path.join(dir, 'c.jpg'), captions: ['From txt'] },
      { id: 'sub dir/ảnh 1.png', imagePath: path.join(dir, 'sub dir', 'ảnh 1.png'), captions: ['Con chó chạy', 'Một con chó 🐕'] },
    ]);
  });

  it('reports the duplicate caption, the ignored .caption and the orphan caption file', async () => {
    const ds = await readSidecar(dir);
    const byKind = ds.problems.map((p) => [p.kind, path.basename(p.path), p.line ?? null]);
    expect(byKind).toEqual(
      expect.arrayContaining([
        ['duplicate-caption', 'a.txt', 4],
        ['duplicate-entry', 'c.caption', null],
        ['orphan-caption', 'orphan.txt', null],
      ]),
    );
    expect(ds.problems).toHaveLength(3);
  });

  it('throws one line naming the path when the folder does not exist', async () => {
    await expect(readSidecar(path.join(dir, 'nope'))).rejects.toThrow(/nope: cannot read the folder/);
  });
});

describe('saveSidecar', () => {
  it('round trip: edits land in the right lines, the rest of the file and the other files stay as they were', async () => {
    const ds = await readSidecar(dir);
    await saveSidecar(ds, [
      { id: 'a.jpg', captions: ['A dog runs fast.', 'A brown dog.', 'A third\ncaption'] },
      { id: 'sub dir/ảnh 1.png', captions: ['Con mèo'] },
      { id: 'b.jpg', captions: ['Now captioned'] },
    ]);
    // The stale duplicate of the edited caption is gone, the blank line kept, the new caption after the last one.
    expect(await readFile(path.join(dir, 'a.txt'), 'utf8')).toBe('A dog runs fast.\nA brown dog.\nA third caption\n\n');
    // BOM, CRLF and the blank line kept; the removed caption's line gone.
    expect(await readFile(path.join(dir, 'sub dir', 'ảnh 1.caption'), 'utf8')).toBe('\uFEFFCon mèo\r\n   \r\n');
    expect(await readFile(path.join(dir, 'b.txt'), 'utf8')).toBe('Now captioned\n');
    expect(await readFile(path.join(dir, 'c.caption'), 'utf8')).toBe('From caption\n');

    const again = await readSidecar(dir);
    const captions = Object.fromEntries(again.items.map((item) => [item.id, item.captions]));
    expect(captions).toEqual({
      'a.jpg': ['A dog runs fast.', 'A brown dog.', 'A third caption'],
      'b.jpg': ['Now captioned'],
      'c.jpg': ['From txt'],
      'sub dir/ảnh 1.png': ['Con mèo'],
    });
  });

  it('refuses an unknown id and a caption file changed since loading', async () => {
    const ds = await readSidecar(dir);
    await expect(saveSidecar(ds, [{ id: 'zzz.jpg', captions: ['x'] }])).rejects.toThrow(/no image with id 'zzz.jpg'/);
    await writeTree(dir, { 'a.txt': 'Changed elsewhere\n' });
    await expect(saveSidecar(ds, [{ id: 'a.jpg', captions: ['x'] }])).rejects.toThrow(/changed on disk/);
    expect(await readFile(path.join(dir, 'a.txt'), 'utf8')).toBe('Changed elsewhere\n');
  });
});
