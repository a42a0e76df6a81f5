import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readKarpathy, saveKarpathy } from '../../../src-main/data/formats/karpathy.ts';
import { tempDir, writeTree } from '../fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  await writeTree(dir, { 'images/1.jpg': null, 'images/2.jpg': null, 'images/val2014/3.jpg': null, 'images/4 bốn.jpg': null });
});
afterEach(() => cleanup());

const KARPATHY = {
  dataset: 'toy',
  images: [
    {
      sentids: [0, 1, 2],
      imgid: 0,
      sentences: [
        { tokens: ['a', 'farm'], raw: 'A farm .', imgid: 0, sentid: 0 },
        { tokens: ['a', 'field'], raw: 'A field .', imgid: 0, sentid: 1 },
        { tokens: ['a', 'farm'], raw: 'A farm .', imgid: 0, sentid: 2 },
      ],
      split: 'train',
      filename: '1.jpg',
    },
    { sentids: [3], imgid: 1, sentences: [{ tokens: ['a', 'road'], raw: 'A road .', imgid: 1, sentid: 3 }], split: 'restval', filename: '2.jpg' },
    { sentids: [4], imgid: 2, sentences: [{ tokens: ['only', 'tokens'], imgid: 2, sentid: 4 }], split: 'test', filepath: 'val2014', filename: '3.jpg' },
    { sentids: [5], imgid: 3, sentences: [{ raw: '', sentid: 5 }, { nothing: true }], split: 'val', filename: '4 bốn.jpg' },
    { sentids: [6], imgid: 4, sentences: [{ raw: 'Gone .', sentid: 6 }], split: 'val', filename: 'missing.jpg' },
    { imgid: 5, split: 'train' },
  ],
};

describe('readKarpathy', () => {
  it('reads images, splits (restval → train), raw sentences or joined tokens, and reports bad entries', async () => {
    await writeTree(dir, { 'dataset.json': JSON.stringify(KARPATHY) });
    const ds = await readKarpathy(path.join(dir, 'dataset.json'));
    expect(ds.format).toBe('karpathy');
    expect(ds.splits).toEqual({ kind: 'dataset' });
    expect(ds.items).toEqual([
      { id: '1.jpg', imagePath: path.join(dir, 'images', '1.jpg'), captions: ['A farm .', 'A field .'], split: 'train' },
      { id: '2.jpg', imagePath: path.join(dir, 'images', '2.jpg'), captions: ['A road .'], split: 'train' },
      { id: 'val2014/3.jpg', imagePath: path.join(dir, 'images', 'val2014', '3.jpg'), captions: ['only tokens'], split: 'test' },
      { id: '4 bốn.jpg', imagePath: path.join(dir, 'images', '4 bốn.jpg'), captions: [], split: 'val' },
    ]);
    expect(ds.problems.map((p) => p.kind).sort()).toEqual(['duplicate-caption', 'empty-caption', 'invalid-entry', 'invalid-entry', 'missing-image']);
  });

  it('keeps duplicate references when asked (evaluation against published figures)', async () => {
    await writeTree(dir, { 'dataset.json': JSON.stringify(KARPATHY) });
    const ds = await readKarpathy(path.join(dir, 'dataset.json'), { keepDuplicateCaptions: true });
    expect(ds.keepDuplicateCaptions).toBe(true);
    expect(ds.items[0]!.captions).toEqual(['A farm .', 'A field .', 'A farm .']);
    expect(ds.problems.map((p) => p.kind)).not.toContain('duplicate-caption');
  });

  it('keeps an image whose split is not a name, saying the split is what is wrong; a bad entry names its fault', async () => {
    await writeTree(dir, {
      'images/1.jpg': 'x',
      'odd.json': JSON.stringify({
        images: [
          { filename: '1.jpg', split: 7, sentences: [{ raw: 'A farm .' }] },
          { split: 'train', sentences: [] },
          { filename: '2.jpg', sentences: 'A road .' },
        ],
      }),
    });
    const ds = await readKarpathy(path.join(dir, 'odd.json'));
    expect(ds.items).toEqual([{ id: '1.jpg', imagePath: path.join(dir, 'images', '1.jpg'), captions: ['A farm .'] }]);
    expect(ds.problems.map((p) => p.reason)).toEqual([
      'images[0]: split 7 is not a split name (train, val or test); ignored',
      'images[1] skipped: it has no filename',
      'images[2] skipped: its sentences are not an array',
    ]);
  });

  it('throws one line for a JSON file that is not in Karpathy form', async () => {
    await writeTree(dir, { 'x.json': '{"images": [{"file_name": "a.jpg"}]}', 'broken.json': '{"images": [' });
    await expect(readKarpathy(path.join(dir, 'x.json'))).rejects.toThrow(/x\.json: not a Karpathy split file/);
    await expect(readKarpathy(path.join(dir, 'broken.json'))).rejects.toThrow(/broken\.json: invalid JSON/);
  });
});

describe('saveKarpathy', () => {
  it('round trip: edits change raw and tokens, removals drop sentids, additions get new sentids; all else kept', async () => {
    const file = path.join(dir, 'dataset.json');
    await writeTree(dir, { 'dataset.json': JSON.stringify(KARPATHY) });
    const ds = await readKarpathy(file);
    await saveKarpathy(ds, [
      { id: '1.jpg', captions: ['A green field, at dawn.'] },
      { id: '2.jpg', captions: ['A road .', "A man's road."] },
    ]);
    const json = JSON.parse(await readFile(file, 'utf8')) as typeof KARPATHY;
    expect(json.dataset).toBe('toy');
    expect(json.images[0]).toEqual({
      sentids: [0],
      imgid: 0,
      sentences: [{ tokens: ['a', 'green', 'field', 'at', 'dawn'], raw: 'A green field, at dawn.', imgid: 0, sentid: 0 }],
      split: 'train',
      filename: '1.jpg',
    });
    expect(json.images[1]).toEqual({
      sentids: [3, 7],
      imgid: 1,
      sentences: [
        { tokens: ['a', 'road'], raw: 'A road .', imgid: 1, sentid: 3 },
        { tokens: ['a', 'man', "'s", 'road'], raw: "A man's road.", imgid: 1, sentid: 7 },
      ],
      split: 'restval',
      filename: '2.jpg',
    });
    expect(json.images.slice(2)).toEqual(KARPATHY.images.slice(2));
    const again = await readKarpathy(file);
    expect(again.items.slice(0, 2).map((i) => i.captions)).toEqual([['A green field, at dawn.'], ['A road .', "A man's road."]]);
  });

  it('with duplicates kept, an edit maps onto every sentence in order and repeats are written', async () => {
    const file = path.join(dir, 'dataset.json');
    await writeTree(dir, { 'dataset.json': JSON.stringify(KARPATHY) });
    const ds = await readKarpathy(file, { keepDuplicateCaptions: true });
    await saveKarpathy(ds, [{ id: '1.jpg', captions: ['A farm .', 'A farm .', 'A barn .'] }]);
    const json = JSON.parse(await readFile(file, 'utf8')) as { images: { sentences: { raw: string; sentid: number }[] }[] };
    expect(json.images[0]!.sentences.map((s) => [s.raw, s.sentid])).toEqual([
      ['A farm .', 0],
      ['A farm .', 1],
      ['A barn .', 2],
    ]);
  });
});
