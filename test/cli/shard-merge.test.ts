/**
 * `caption` / `export --shard i/n` and `merge` end to end with the bundled default model: the shards of a folder
 * are disjoint and together cover it, and merging the shard exports gives byte for byte the file one unsharded
 * export writes.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, runCli, shapeJpeg, tempDir, KINDS } from './cli-fixtures.ts';

let root: string;
let cleanup: () => Promise<void>;
let images: string;
let files: string[];

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('cs-cli-shard-'));
  images = path.join(root, 'images');
  files = [];
  for (let k = 0; k < 9; k++) {
    const file = path.join(images, k < 5 ? '' : 'sub', `pic-${k}.jpg`);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, await shapeJpeg(KINDS[k % 3]!, k % 2 ? 'red' : 'blue', k % 4 ? 'white' : 'black', k % 3));
    files.push(file);
  }
  // One file that cannot be read: it must be in exactly one shard's error lines, never lost.
  await writeFile(path.join(images, 'broken.jpg'), 'not pixels\n');
});

afterAll(async () => {
  await cleanup();
});

const N = 3;

describe('--shard and merge', () => {
  it('caption --shard i/n: the shares are disjoint and together every file, in the unsharded order', async () => {
    const whole = jsonLines((await runCli(['caption', images, '--json', '--tags', '0', '--top', '1'])).stdout) as { path: string }[];
    expect(whole).toHaveLength(10);
    const shares: { path: string }[][] = [];
    for (let i = 0; i < N; i++) {
      const r = await runCli(['caption', images, '--json', '--tags', '0', '--top', '1', '--shard', `${i}/${N}`]);
      expect(r.code === 0 || r.code === 1).toBe(true); // a share holding only the broken file exits 1
      shares.push(jsonLines(r.stdout) as { path: string }[]);
    }
    const all = shares.flat().map((l) => l.path);
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual(whole.map((l) => l.path).sort());
    for (const share of shares) {
      const order = share.map((l) => whole.findIndex((w) => w.path === l.path));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    // Each line is the unsharded run's line for that file.
    for (const line of shares.flat()) expect(line).toEqual(whole.find((w) => w.path === line.path));
  });

  it('export --shard i/n then merge: byte-identical to one unsharded export (csv and jsonl)', async () => {
    for (const format of ['csv', 'jsonl'] as const) {
      const single = path.join(root, `single.${format}`);
      expect((await runCli(['export', images, '--format', format, '--out', single, '-q'])).code).toBe(0);
      const parts: string[] = [];
      for (let i = 0; i < N; i++) {
        const part = path.join(root, `part-${i}.${format}`);
        const r = await runCli(['export', images, '--format', format, '--out', part, '--shard', `${i}/${N}`, '-q']);
        expect(r.code, r.stderr).toBe(0);
        parts.push(part);
      }
      const merged = path.join(root, `merged.${format}`);
      const r = await runCli(['merge', ...parts.reverse(), '--out', merged]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`merged ${N} shards: 9 captions`);
      expect(await readFile(merged)).toEqual(await readFile(single));
      // Not trivially equal: every shard holds only part of the rows.
      for (const part of parts) expect((await readFile(part)).length).toBeLessThan((await readFile(single)).length);
    }
  });

  it('merge refuses an incomplete set of shards, naming what is missing', async () => {
    const r = await runCli(['merge', path.join(root, 'part-0.csv'), path.join(root, 'part-2.csv'), '--out', path.join(root, 'x.csv')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`merge: missing shard 1/${N}`);
    const bad = await runCli(['export', images, '--out', path.join(root, 'y.csv'), '--shard', '3/3']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('the index must be below the count');
  });
});
