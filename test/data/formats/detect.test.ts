import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDataset } from '../../../src-main/data/dataset.ts';
import { detectFormat } from '../../../src-main/data/formats/detect.ts';
import { tempDir, writeTree } from '../fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

const COCO = JSON.stringify({ info: {}, images: [{ id: 1, file_name: 'a.jpg' }], annotations: [{ image_id: 1, caption: 'x' }] });
const KARPATHY = JSON.stringify({ images: [{ filename: 'a.jpg', split: 'train', sentences: [{ raw: 'x' }] }], dataset: 'd' });
// A JSON whose first bytes do not say which: the whole file is parsed.
const LATE_COCO = `{"info": {"pad": "${'x'.repeat(70_000)}"}, "annotations": [], "images": []}`;

describe('detectFormat', () => {
  it('detects each format from a folder', async () => {
    await writeTree(dir, {
      'coco/captions.json': COCO,
      'coco/images/a.jpg': null,
      'ucm/dataset.json': KARPATHY,
      'f8k/Flickr8k.token.txt': 'a.jpg#0\tx\n',
      'f8k/Flickr8k.lemma.token.txt': 'a.jpg#0\tx\n',
      'f8k/Flickr_8k.trainImages.txt': 'a.jpg\n',
      'csv/captions.csv': 'image,caption\na.jpg,x\n',
      'csv/README.txt': 'About this data set.\n',
      'side/a.jpg': null,
      'side/a.txt': 'image.jpg, looks like the header-less form but is a sidecar\n',
      'side/notes.json': '{"about": "not a dataset"}',
    });
    expect(await detectFormat(path.join(dir, 'coco'))).toEqual({ format: 'coco', path: path.join(dir, 'coco', 'captions.json') });
    expect(await detectFormat(path.join(dir, 'ucm'))).toEqual({ format: 'karpathy', path: path.join(dir, 'ucm', 'dataset.json') });
    expect(await detectFormat(path.join(dir, 'f8k'))).toEqual({ format: 'flickr8k', path: path.join(dir, 'f8k', 'Flickr8k.token.txt') });
    expect(await detectFormat(path.join(dir, 'csv'))).toEqual({ format: 'csv', path: path.join(dir, 'csv', 'captions.csv') });
    expect(await detectFormat(path.join(dir, 'side'))).toEqual({ format: 'sidecar', path: path.join(dir, 'side') });
  });

  it('prefers the sidecar captions of a folder over a CSV exported into it, and names the CSV it did not read', async () => {
    await writeTree(dir, {
      'photos/a.jpg': null,
      'photos/a.txt': 'a hand-written caption\n',
      'photos/b.jpg': null,
      'photos/b.caption': 'another hand-written caption\n',
      'photos/captions.csv': 'path,caption,score,model\na.jpg,a model caption,-0.5,default\nb.jpg,a model caption,-0.5,default\n',
    });
    const folder = path.join(dir, 'photos');
    expect(await detectFormat(folder)).toEqual({ format: 'sidecar', path: folder, otherSources: [path.join(folder, 'captions.csv')] });
    const dataset = await loadDataset(folder);
    expect(dataset.format).toBe('sidecar');
    expect(dataset.items.map((i) => i.captions)).toEqual([['a hand-written caption'], ['another hand-written caption']]);
    expect(dataset.problems).toEqual([expect.objectContaining({ kind: 'other-source', path: path.join(folder, 'captions.csv') })]);
    // Asking for the CSV by name (or by format) still reads it.
    expect(await detectFormat(folder, 'csv')).toEqual({ format: 'csv', path: path.join(folder, 'captions.csv') });
  });

  it('detects each format from a file', async () => {
    await writeTree(dir, {
      'c.json': COCO,
      'late.json': LATE_COCO,
      'k.json': KARPATHY,
      't.txt': '\uFEFFa.jpg#0\tx\r\n',
      'h.txt': 'a.jpg, a caption\n',
      'x.tsv': 'file\ttext\n',
      'y.csv': 'anything at all\n',
    });
    const format = async (name: string): Promise<string> => (await detectFormat(path.join(dir, name))).format;
    expect(await format('c.json')).toBe('coco');
    expect(await format('late.json')).toBe('coco');
    expect(await format('k.json')).toBe('karpathy');
    expect(await format('t.txt')).toBe('flickr8k');
    expect(await format('h.txt')).toBe('csv');
    expect(await format('x.tsv')).toBe('csv');
    // A .csv is read as CSV; the reader then says what is wrong with it.
    expect(await format('y.csv')).toBe('csv');
  });

  it('lets the caller force a format, for a file or for the file inside a folder', async () => {
    await writeTree(dir, { 'both/captions.csv': 'image,caption\na.jpg,x\n', 'both/captions.json': COCO, 'both/a.jpg': null });
    expect((await detectFormat(path.join(dir, 'both'))).format).toBe('coco');
    expect(await detectFormat(path.join(dir, 'both'), 'csv')).toEqual({ format: 'csv', path: path.join(dir, 'both', 'captions.csv') });
    expect(await detectFormat(path.join(dir, 'both'), 'sidecar')).toEqual({ format: 'sidecar', path: path.join(dir, 'both') });
    expect(await detectFormat(path.join(dir, 'both', 'captions.json'), 'karpathy')).toEqual({ format: 'karpathy', path: path.join(dir, 'both', 'captions.json') });
  });

  it('throws one line for a missing path, an unknown file, ambiguity, or a forced format that is not there', async () => {
    await writeTree(dir, { 'notes.txt': 'hello\n', 'two/a.csv': 'image,caption\n', 'two/b.csv': 'image,caption\n', 'side/a.jpg': null });
    await expect(detectFormat(path.join(dir, 'nope'))).rejects.toThrow(/nope: no such file or folder/);
    await expect(detectFormat(path.join(dir, 'notes.txt'))).rejects.toThrow(/notes\.txt: unknown dataset format/);
    await expect(detectFormat(path.join(dir, 'two'))).rejects.toThrow(/two: several csv files here \(a\.csv, b\.csv\)/);
    await expect(detectFormat(path.join(dir, 'side'), 'coco')).rejects.toThrow(/side: no coco annotation file in this folder/);
    await expect(detectFormat(path.join(dir, 'notes.txt'), 'sidecar')).rejects.toThrow(/the sidecar format reads a folder/);
  });
});
