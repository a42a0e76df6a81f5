import { createHash } from 'node:crypto';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { shareOf, shardRoots } from '../../src-main/cli/shard-option.ts';
import { mergeShards, type ShardManifest } from '../../src-main/data/shard-manifest.ts';
import { parseShard, shardKey, shardOfKey, takeShard } from '../../src-main/util/shard.ts';

const keys = Array.from({ length: 500 }, (_, k) => `photos/${k % 7}/img_${String(k).padStart(4, '0')}.jpg`);

describe('shards', () => {
  it('parses i/n and refuses anything else with a one-line reason', () => {
    expect(parseShard('0/4')).toEqual({ index: 0, count: 4 });
    expect(parseShard(' 3 / 4 ')).toEqual({ index: 3, count: 4 });
    expect(() => parseShard('4/4')).toThrow("--shard: the index must be below the count (0 … 3), got '4/4'");
    expect(() => parseShard('1/0')).toThrow('at least 1');
    expect(() => parseShard('1-4')).toThrow("expected i/n (e.g. 0/4), got '1-4'");
    expect(() => parseShard('-1/4')).toThrow('expected i/n');
  });

  it('for every n: shards are disjoint, their union is the whole input in order, and no shard is much bigger than its share', () => {
    for (const n of [1, 2, 3, 5, 8]) {
      const shares = Array.from({ length: n }, (_, i) => takeShard(keys, (k) => k, { index: i, count: n }));
      const indices = shares.flatMap((s) => s.map((x) => x.index)).sort((a, b) => a - b);
      expect(indices).toEqual(keys.map((_, k) => k)); // disjoint and complete
      for (const s of shares) {
        expect(s.map((x) => x.item)).toEqual(s.map((x) => keys[x.index])); // original order kept
        expect(s.length).toBeGreaterThan(keys.length / n / 2);
        expect(s.length).toBeLessThan((keys.length / n) * 1.5);
      }
    }
  });

  it('is stable: a key always falls in the same shard (SHA-256 of the key, first 32 bits, modulo n)', () => {
    const first32 = (key: string): number => Number.parseInt(createHash('sha256').update(key).digest('hex').slice(0, 8), 16);
    expect(first32('a.jpg') % 7).toBe(shardOfKey('a.jpg', 7));
    for (const key of ['a.jpg', 'photos/3/img_0001.jpg', 'ảnh vuông 1.jpg']) {
      for (const n of [2, 3, 7]) expect(shardOfKey(key, n)).toBe(first32(key) % n);
    }
  });

  it('keys by the path relative to the folder named, so another mount point gives the same shares', () => {
    const files = (root: string) => keys.map((k) => path.join(root, ...k.split('/')));
    const a = shareOf(files('/mnt/a/data'), (f) => f, ['/mnt/a/data'], { index: 1, count: 3 });
    const b = shareOf(files('/srv/copy'), (f) => f, ['/srv/copy'], { index: 1, count: 3 });
    expect(a.keys).toEqual(keys);
    expect(b.share.map((s) => s.index)).toEqual(a.share.map((s) => s.index));
    // A file named directly is keyed by its base name; one under a named folder by its path below it.
    expect(shardKey('/x/y/z.png', shardRoots(['/x/y/z.png']))).toBe('z.png');
    expect(shardKey('/x/y/z.png', shardRoots(['/x']))).toBe('y/z.png');
  });
});

describe('mergeShards', () => {
  const manifest = (index: number, count: number, rows: number[]): { name: string; manifest: ShardManifest } => ({
    name: `part-${index}.csv`,
    manifest: {
      version: 1,
      shard: { index, count },
      total: 6,
      inputs: 'f',
      format: 'csv',
      bom: false,
      rows: rows.map((k) => ({ index: k, row: { path: `img${k}.jpg`, caption: `c${k}` } })),
    },
  });

  it('puts the rows back in input order whatever the order of the outputs given', () => {
    const merged = mergeShards([manifest(1, 2, [1, 4, 5]), manifest(0, 2, [0, 2, 3])]);
    expect(merged.rows.map((r) => r.path)).toEqual(['img0.jpg', 'img1.jpg', 'img2.jpg', 'img3.jpg', 'img4.jpg', 'img5.jpg']);
    expect(merged.format).toBe('csv');
  });

  it('refuses a missing shard, a shard given twice, overlapping rows and shards of other inputs', () => {
    expect(() => mergeShards([manifest(0, 3, [0]), manifest(2, 3, [1])])).toThrow('merge: missing shard 1/3');
    expect(() => mergeShards([manifest(0, 2, [0]), manifest(0, 2, [1])])).toThrow('are both shard 0/2');
    expect(() => mergeShards([manifest(0, 2, [0, 1]), manifest(1, 2, [1])])).toThrow('input 1 (img1.jpg) is in both');
    const other = manifest(1, 2, [1]);
    expect(() => mergeShards([manifest(0, 2, [0]), { ...other, manifest: { ...other.manifest, inputs: 'g' } }])).toThrow('another input list');
    expect(() => mergeShards([manifest(0, 2, [0]), manifest(1, 3, [1])])).toThrow('another shard count');
  });
});
