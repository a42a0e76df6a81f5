import { mkdir, realpath, symlink } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { expandImagePaths } from '../../src-main/data/image-paths.ts';
import { tempDir, writeTree } from './fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

describe('expandImagePaths', () => {
  it('walks folders for image files in name order, skipping hidden entries and other files, files given as they are', async () => {
    await writeTree(dir, { 'b.jpg': null, 'a.PNG': null, 'notes.txt': 'x', '.hidden.jpg': null, 'sub dir/ảnh 1.webp': null, '.git/c.jpg': null });
    const given = path.join(dir, 'notes.txt');
    expect(await expandImagePaths([dir, given, path.join(dir, 'b.jpg')])).toEqual([
      path.join(dir, 'a.PNG'),
      path.join(dir, 'b.jpg'),
      path.join(dir, 'sub dir', 'ảnh 1.webp'),
      given,
    ]);
  });

  it('follows symbolic links to files and folders, each real file and folder once, telling where they lead; skips dangling links', async () => {
    await writeTree(dir, { 'photos/real.jpg': null, 'photos/b.png': null, 'elsewhere/deep/x.png': null, 'elsewhere/y.jpg': null });
    await symlink(path.join(dir, 'elsewhere', 'y.jpg'), path.join(dir, 'photos', 'link.jpg'));
    await symlink(path.join(dir, 'photos', 'b.png'), path.join(dir, 'photos', 'same-as-b.png'));
    await symlink(path.join(dir, 'elsewhere', 'deep'), path.join(dir, 'photos', 'more'));
    await symlink(path.join(dir, 'photos'), path.join(dir, 'photos', 'loop'));
    await symlink(path.join(dir, 'gone.jpg'), path.join(dir, 'photos', 'dangling.jpg'));
    const linked: string[] = [];
    expect(await expandImagePaths([path.join(dir, 'photos')], { onLinked: (real) => linked.push(real) })).toEqual([
      path.join(dir, 'photos', 'b.png'),
      path.join(dir, 'photos', 'link.jpg'),
      path.join(dir, 'photos', 'more', 'x.png'),
      path.join(dir, 'photos', 'real.jpg'),
    ]);
    const real = await realpath(dir);
    expect(linked).toEqual([path.join(real, 'elsewhere', 'y.jpg'), path.join(real, 'elsewhere', 'deep')]);
  });

  it('reports each symbolic link loop in one line (a.jpg ↔ b.jpg, self.jpg) and goes on with the rest', async () => {
    await writeTree(dir, { 'loops/ok.jpg': null });
    const loops = path.join(dir, 'loops');
    await symlink(path.join(loops, 'b.jpg'), path.join(loops, 'a.jpg'));
    await symlink(path.join(loops, 'a.jpg'), path.join(loops, 'b.jpg'));
    await symlink(path.join(loops, 'self.jpg'), path.join(loops, 'self.jpg'));
    const reported: string[] = [];
    expect(await expandImagePaths([loops], { onUnreadable: (_p, message) => reported.push(message) })).toEqual([path.join(loops, 'ok.jpg')]);
    expect(reported).toEqual(['a.jpg', 'b.jpg', 'self.jpg'].map((n) => `${path.join(loops, n)}: symbolic link loop (it leads back to itself); skipped`));
    const asItems: string[] = [];
    await expandImagePaths([loops], { onLinkLoop: (link) => asItems.push(link), onUnreadable: () => expect.fail('reported twice') });
    expect(asItems).toEqual(['a.jpg', 'b.jpg', 'self.jpg'].map((n) => path.join(loops, n)));
  });

  it('stops at the file limit with a clear error', async () => {
    await mkdir(path.join(dir, 'many'));
    await writeTree(dir, { 'many/1.jpg': null, 'many/2.jpg': null, 'many/3.jpg': null });
    await expect(expandImagePaths([dir], { maxFiles: 2 })).rejects.toThrow('more than 2 image files; pick a smaller folder');
  });
});
