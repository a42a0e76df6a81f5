/**
 * Uploads are streamed to disk (never held whole in memory), bounded per file, at once and per session, and leave
 * nothing behind when refused, failed or aborted; upload folders of killed sessions are removed at the next start.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaAccess } from '../../src-main/services/media-access.ts';
import { removeOrphanUploadDirs, UploadRefused, UploadStore } from '../../src-main/services/upload-store.ts';

const MB = 1024 * 1024;
let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-uploads-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Every file under `dir` with its size (temporary ones included). */
async function filesUnder(dir: string): Promise<{ file: string; size: number }[]> {
  const out: { file: string; size: number }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full)));
    else out.push({ file: full, size: (await stat(full)).size });
  }
  return out;
}

const chunk = (n: number, byte: number) => new Uint8Array(n).fill(byte);

describe('UploadStore', () => {
  it('writes an upload to disk as it arrives', async () => {
    const dir = path.join(root, 'stream');
    const store = new UploadStore(dir, new MediaAccess());
    const onDisk: number[] = [];
    async function* body(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 8; i++) {
        onDisk.push((await filesUnder(dir)).reduce((n, f) => n + f.size, 0));
        yield chunk(MB, i);
      }
    }
    const file = await store.saveStream('big.png', body());
    // Before the k-th MB arrived, the k-1 before it were on disk already: nothing waits in memory for the end.
    expect(onDisk).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((k) => k * MB));
    const bytes = await readFile(file);
    expect(bytes.length).toBe(8 * MB);
    expect(bytes[3 * MB]).toBe(3);
    expect((await filesUnder(dir)).map((f) => path.basename(f.file))).toEqual(['big.png']);
  });

  it('refuses an upload over the file limit, declared or streamed, leaving nothing', async () => {
    const dir = path.join(root, 'big');
    const store = new UploadStore(dir, new MediaAccess(), { file: 2 * MB, concurrent: 4, session: 100 * MB });
    await expect(store.saveStream('declared.png', [chunk(10, 1)], 3 * MB)).rejects.toMatchObject({ status: 413, message: 'declared.png: upload is over 2 MB' });
    await expect(store.saveStream('streamed.png', [chunk(MB, 1), chunk(MB, 1), chunk(MB, 1)])).rejects.toMatchObject({ status: 413 });
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('takes a few uploads at once, refusing more with 429 until one ends', async () => {
    const dir = path.join(root, 'many');
    const store = new UploadStore(dir, new MediaAccess(), { file: 10 * MB, concurrent: 2, session: 100 * MB });
    const gates: (() => void)[] = [];
    async function* held(): AsyncGenerator<Uint8Array> {
      yield chunk(1000, 7);
      await new Promise<void>((resolve) => gates.push(resolve));
      yield chunk(1000, 7);
    }
    const a = store.saveStream('a.png', held());
    const b = store.saveStream('b.png', held());
    await expect.poll(() => gates.length).toBe(2);
    const third = await store.saveStream('c.png', [chunk(10, 1)]).catch((e: unknown) => e);
    expect(third).toBeInstanceOf(UploadRefused);
    expect(third).toMatchObject({ status: 429 });
    gates.forEach((open) => open());
    await Promise.all([a, b]);
    await expect(store.saveStream('c.png', [chunk(10, 1)])).resolves.toMatch(/c\.png$/);
  });

  it('caps the session\'s uploads in all; an aborted upload frees its share and leaves nothing', async () => {
    const dir = path.join(root, 'session');
    const store = new UploadStore(dir, new MediaAccess(), { file: 10 * MB, concurrent: 4, session: 3 * MB });
    await store.saveStream('one.png', [chunk(2 * MB, 1)]);
    await expect(store.saveStream('two.png', [chunk(2 * MB, 1)])).rejects.toMatchObject({ status: 413, message: expect.stringContaining("this session's uploads would exceed 3 MB") });
    async function* aborted(): AsyncGenerator<Uint8Array> {
      yield chunk(MB / 2, 1);
      throw new Error('aborted');
    }
    await expect(store.saveStream('cut.png', aborted())).rejects.toThrow('aborted');
    expect((await filesUnder(dir)).map((f) => path.basename(f.file))).toEqual(['one.png']);
    await expect(store.saveStream('three.png', [chunk(MB / 2, 1)])).resolves.toMatch(/three\.png$/);
    await store.clear();
    expect(await filesUnder(dir)).toEqual([]);
  });

  it('removes the upload folders of sessions whose process is gone', async () => {
    const tmp = path.join(root, 'tmp');
    const gone = path.join(tmp, 'caption-studio-uploads-999999999-1700000000000');
    const alive = path.join(tmp, `caption-studio-uploads-${process.ppid}-1700000000000`);
    const mine = path.join(tmp, `caption-studio-uploads-${process.pid}-1700000000000`);
    for (const d of [gone, alive, mine]) await mkdir(path.join(d, '1'), { recursive: true });
    await mkdir(path.join(tmp, 'unrelated-999999999'));
    expect(await removeOrphanUploadDirs(tmp)).toEqual([gone]);
    expect((await readdir(tmp)).sort()).toEqual([path.basename(alive), path.basename(mine), 'unrelated-999999999'].sort());
  });
});
