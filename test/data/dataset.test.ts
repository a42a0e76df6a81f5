import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  assignSplits,
  datasetStats,
  itemsInSplit,
  loadDataset,
  percentile,
  saveDataset,
  type Dataset,
  type DatasetItem,
} from '../../src-main/data/dataset.ts';
import { tempDir, writeTree } from './fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

function toyDataset(n: number, extra: Partial<Dataset> = {}): Dataset {
  const items: DatasetItem[] = Array.from({ length: n }, (_, i) => ({ id: `img${i}.jpg`, imagePath: `/x/img${i}.jpg`, captions: [`caption ${i}`] }));
  return { format: 'sidecar', source: '/x', items, problems: [], splits: { kind: 'none' }, ...extra };
}

describe('loadDataset / saveDataset', () => {
  it('loads every format through detection and saves an edit back through the same format', async () => {
    await writeTree(dir, {
      'images/a.jpg': null,
      'images/b.jpg': null,
      'captions.json': JSON.stringify({ images: [{ id: 1, file_name: 'a.jpg' }, { id: 2, file_name: 'b.jpg' }], annotations: [{ image_id: 1, caption: 'A.' }] }),
      'csv/captions.csv': 'image,caption\n../images/a.jpg,A.\n',
      'side/x.png': null,
      'side/x.txt': 'X.\n',
    });
    const coco = await loadDataset(dir);
    expect(coco.format).toBe('coco');
    expect(coco.source).toBe(path.join(dir, 'captions.json'));
    const csv = await loadDataset(path.join(dir, 'csv'));
    expect(csv.items).toEqual([{ id: '../images/a.jpg', imagePath: path.join(dir, 'images', 'a.jpg'), captions: ['A.'] }]);
    const side = await loadDataset(path.join(dir, 'side'), { format: 'auto' });
    expect(side.format).toBe('sidecar');

    const seeded = assignSplits(coco, { seed: 7, valFraction: 0, testFraction: 0.5 });
    const saved = await saveDataset(seeded, [{ id: '2', captions: ['B.'] }]);
    expect(saved.items.map((i) => [i.id, i.captions])).toEqual([
      ['1', ['A.']],
      ['2', ['B.']],
    ]);
    // A seeded split is applied again to the saved dataset (same seed and fractions).
    expect(saved.splits).toEqual(seeded.splits);
    expect(saved.items.map((i) => i.split).sort()).toEqual(['test', 'train']);
  });
});

describe('assignSplits', () => {
  it('gives exact counts and depends only on seed and ids, not on input order', () => {
    const ds = toyDataset(20);
    const a = assignSplits(ds, { seed: 42, valFraction: 0.1, testFraction: 0.2 });
    expect(a.splits).toEqual({ kind: 'seeded', seed: 42, valFraction: 0.1, testFraction: 0.2 });
    expect(itemsInSplit(a, 'val')).toHaveLength(2);
    expect(itemsInSplit(a, 'test')).toHaveLength(4);
    expect(itemsInSplit(a, 'train')).toHaveLength(14);
    expect(itemsInSplit(a, 'all')).toHaveLength(20);

    const reversed = assignSplits({ ...ds, items: [...ds.items].reverse() }, { seed: 42, valFraction: 0.1, testFraction: 0.2 });
    const splitOf = (d: Dataset): Record<string, string | undefined> => Object.fromEntries(d.items.map((i) => [i.id, i.split]));
    expect(splitOf(reversed)).toEqual(splitOf(a));

    const other = assignSplits(ds, { seed: 43, valFraction: 0.1, testFraction: 0.2 });
    expect(splitOf(other)).not.toEqual(splitOf(a));
  });

  it('gives a non-zero fraction at least one image while keeping one for training; uncaptioned images get none', () => {
    const ds = toyDataset(3);
    const items = [...ds.items, { id: 'empty.jpg', imagePath: '/x/empty.jpg', captions: [] }];
    const a = assignSplits({ ...ds, items }, { seed: 1, valFraction: 0.05, testFraction: 0.05 });
    expect(a.items.map((i) => i.split ?? 'none').sort()).toEqual(['none', 'test', 'train', 'val']);
    const two = assignSplits(toyDataset(2), { seed: 1, valFraction: 0.3, testFraction: 0.3 });
    expect(two.items.map((i) => i.split).sort()).toEqual(['test', 'train']);
  });

  it("keeps a dataset's own split unless forced, and rejects bad settings", () => {
    const own = toyDataset(4, { splits: { kind: 'dataset' } });
    const withSplits = { ...own, items: own.items.map((i) => ({ ...i, split: 'train' as const })) };
    expect(assignSplits(withSplits, { seed: 1, valFraction: 0.25, testFraction: 0.25 })).toBe(withSplits);
    const forced = assignSplits(withSplits, { seed: 1, valFraction: 0.25, testFraction: 0.25, force: true });
    expect(forced.items.map((i) => i.split).sort()).toEqual(['test', 'train', 'train', 'val']);
    expect(() => assignSplits(own, { seed: 1, valFraction: 0.5, testFraction: 0.5 })).toThrow(/sum to less than 1/);
    expect(() => assignSplits(own, { seed: 1.5, valFraction: 0.1, testFraction: 0 })).toThrow(/seed must be an integer/);
  });
});

describe('datasetStats', () => {
  it('counts images, captions, words and caption lengths (hand-worked)', () => {
    const ds: Dataset = {
      format: 'csv',
      source: '/x/c.csv',
      items: [
        { id: 'a', imagePath: '/x/a', captions: ['A dog.', 'A dog runs'], split: 'train' },
        { id: 'b', imagePath: '/x/b', captions: ['Một con chó', 'dog'], split: 'val' },
        { id: 'c', imagePath: '/x/c', captions: ['A big red dog runs fast'] },
        { id: 'd', imagePath: '/x/d', captions: [] },
      ],
      problems: [
        { kind: 'missing-image', path: '/x/e', reason: 'image file not found' },
        { kind: 'missing-image', path: '/x/f', reason: 'image file not found' },
        { kind: 'empty-caption', path: '/x/c.csv', line: 3, reason: 'empty' },
      ],
      splits: { kind: 'dataset' },
    };
    const stats = datasetStats(ds, { minWordCount: 2 });
    expect(stats).toEqual({
      images: 4,
      captions: 5,
      imagesWithoutCaptions: 1,
      missingImageFiles: 2,
      problems: { 'missing-image': 2, 'empty-caption': 1 },
      // a×3 dog×4 runs×2 một con chó big red fast ×1
      words: 9,
      vocabularySize: 3,
      minWordCount: 2,
      // lengths 2 3 3 1 6 → sorted 1 2 3 3 6
      length: { p5: 1, p50: 3, p95: 6, max: 6, mean: 3 },
      lengthHistogram: [0, 1, 1, 2, 0, 0, 1],
      splits: { train: 1, val: 1, test: 0, none: 2 },
    });
    expect(datasetStats(ds).vocabularySize).toBe(9);
  });

  it('is all zeros for an empty dataset', () => {
    const stats = datasetStats(toyDataset(0));
    expect(stats.length).toEqual({ p5: 0, p50: 0, p95: 0, max: 0, mean: 0 });
    expect(stats.lengthHistogram).toEqual([0]);
  });

  it('percentile is nearest-rank', () => {
    const v = [10, 20, 30, 40];
    expect([percentile(v, 0), percentile(v, 25), percentile(v, 26), percentile(v, 50), percentile(v, 100)]).toEqual([10, 10, 20, 20, 40]);
  });
});
