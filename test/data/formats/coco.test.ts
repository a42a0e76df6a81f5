import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCoco, saveCoco } from '../../../src-main/data/formats/coco.ts';
import { rejection, tempDir, writeTree } from '../fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  await writeTree(dir, { 'images/a.jpg': null, 'b c.jpg': null, 'ảnh.jpg': null });
});
afterEach(() => cleanup());

const COCO = {
  info: { description: 'toy', year: 2024 },
  licenses: [{ id: 1, name: 'CC BY 4.0' }],
  images: [
    { id: 1, file_name: 'a.jpg', width: 640, height: 480, license: 1 },
    { id: 2, file_name: 'b c.jpg' },
    { id: 3, file_name: 'missing.jpg' },
    { id: 1, file_name: 'a-again.jpg' },
    { file_name: 'no-id.jpg' },
    { id: 'x7', file_name: 'ảnh.jpg' },
  ],
  annotations: [
    { image_id: 1, id: 10, caption: 'A dog on grass.' },
    { image_id: 2, id: 11, caption: 'A cat.' },
    { image_id: 1, id: 12, caption: 'A dog on grass.' },
    { image_id: 1, id: 13, caption: '  ' },
    { image_id: 99, id: 14, caption: 'Nobody.' },
    { image_id: 2, id: 15 },
    { image_id: 3, id: 16, caption: 'Lost image.' },
    { image_id: 1, id: 17, caption: 'Two dogs, playing.' },
    { image_id: 'x7', id: 18, caption: 'Con mèo 🐈' },
  ],
};

describe('readCoco', () => {
  it('reads images and annotations, resolving images/ and the JSON folder, reporting every bad entry', async () => {
    await writeTree(dir, { 'captions.json': JSON.stringify(COCO, null, 2) });
    const ds = await readCoco(path.join(dir, 'captions.json'));
    expect(ds.format).toBe('coco');
    expect(ds.items).toEqual([
      { id: '1', imagePath: path.join(dir, 'images', 'a.jpg'), captions: ['A dog on grass.', 'Two dogs, playing.'] },
      { id: '2', imagePath: path.join(dir, 'b c.jpg'), captions: ['A cat.'] },
      { id: 'x7', imagePath: path.join(dir, 'ảnh.jpg'), captions: ['Con mèo 🐈'] },
    ]);
    const reasons = ds.problems.map((p) => `${p.kind}: ${p.reason}`);
    expect(reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^duplicate-entry: images\[3\]: image id 1 is listed again/),
        expect.stringMatching(/^invalid-entry: images\[4\] skipped/),
        expect.stringMatching(/^duplicate-caption: .*'1'/),
        expect.stringMatching(/^empty-caption: .*'1'/),
        expect.stringMatching(/^invalid-entry: annotations\[4\] skipped: no image with id 99/),
        expect.stringMatching(/^invalid-entry: annotations\[5\] skipped/),
        expect.stringMatching(/^missing-image: image file not found.*1 caption skipped/),
      ]),
    );
    expect(ds.problems).toHaveLength(7);
  });

  it('finds images of an official captions_<split>.json in ../<split>/, or in imagesDir when given', async () => {
    const official = { images: [{ id: 5, file_name: 'x.jpg' }], annotations: [{ image_id: 5, caption: 'X.' }] };
    await writeTree(dir, { 'annotations/captions_val2017.json': JSON.stringify(official), 'val2017/x.jpg': null, 'elsewhere/x.jpg': null });
    const ds = await readCoco(path.join(dir, 'annotations', 'captions_val2017.json'));
    expect(ds.items[0]!.imagePath).toBe(path.join(dir, 'val2017', 'x.jpg'));
    const explicit = await readCoco(path.join(dir, 'annotations', 'captions_val2017.json'), { imagesDir: path.join(dir, 'elsewhere') });
    expect(explicit.items[0]!.imagePath).toBe(path.join(dir, 'elsewhere', 'x.jpg'));
    expect(explicit.imagesDir).toBe(path.join(dir, 'elsewhere'));
  });

  it('throws one line with line and column for invalid JSON, and for JSON of another shape', async () => {
    await writeTree(dir, { 'bad.json': '{\n  "images": [],\n  "annotations": [1, 2\n}\n', 'other.json': '{"images": []}' });
    const err = await rejection(readCoco(path.join(dir, 'bad.json')));
    expect(err.message).toMatch(/bad\.json: invalid JSON at line 4 column 1: /);
    expect(err.message).not.toContain('\n');
    await expect(readCoco(path.join(dir, 'other.json'))).rejects.toThrow(/other\.json: not a COCO captions file/);
  });
});

describe('saveCoco', () => {
  it('round trip: edits change only captions; other fields, order and indentation are kept', async () => {
    const file = path.join(dir, 'captions.json');
    await writeTree(dir, { 'captions.json': JSON.stringify(COCO, null, 2) + '\n' });
    const ds = await readCoco(file);
    await saveCoco(ds, [
      { id: '1', captions: ['A dog on grass.', 'Three dogs.', 'A new caption.', 'Another one.'] },
      { id: 'x7', captions: [] },
    ]);
    const text = await readFile(file, 'utf8');
    expect(text.startsWith('{\n  "info": {\n    "description": "toy",')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
    const json = JSON.parse(text) as typeof COCO;
    expect(json.info).toEqual(COCO.info);
    expect(json.licenses).toEqual(COCO.licenses);
    expect(json.images).toEqual(COCO.images);
    expect(json.annotations).toEqual([
      { image_id: 1, id: 10, caption: 'A dog on grass.' },
      { image_id: 2, id: 11, caption: 'A cat.' },
      // the stale duplicate (id 12) of an edited image is removed; the empty one (13) kept
      { image_id: 1, id: 13, caption: '  ' },
      { image_id: 99, id: 14, caption: 'Nobody.' },
      { image_id: 2, id: 15 },
      { image_id: 3, id: 16, caption: 'Lost image.' },
      { image_id: 1, id: 17, caption: 'Three dogs.' },
      { image_id: 1, id: 19, caption: 'A new caption.' },
      { image_id: 1, id: 20, caption: 'Another one.' },
    ]);
    const again = await readCoco(file);
    expect(again.items.map((i) => [i.id, i.captions])).toEqual([
      ['1', ['A dog on grass.', 'Three dogs.', 'A new caption.', 'Another one.']],
      ['2', ['A cat.']],
      ['x7', []],
    ]);
  });

  it("keeps Python json.dump's one-line ', ' / ': ' style (separators inside strings untouched)", async () => {
    const file = path.join(dir, 'captions.json');
    const python = (v: unknown): string => JSON.stringify(v).replace(/"(?:[^"\\]|\\.)*"|[,:]/g, (t) => (t === ',' ? ', ' : t === ':' ? ': ' : t));
    await writeTree(dir, { 'captions.json': python(COCO) });
    await saveCoco(await readCoco(file), [{ id: '2', captions: ['A cat: black, "small".'] }]);
    const expected = { ...COCO, annotations: COCO.annotations.map((a) => (a.id === 11 ? { ...a, caption: 'A cat: black, "small".' } : a)) };
    const text = await readFile(file, 'utf8');
    expect(text).toBe(python(expected));
    expect(text).toContain('"caption": "A cat: black, \\"small\\"."');
  });

  it('keeps a minified file minified', async () => {
    const file = path.join(dir, 'captions.json');
    await writeTree(dir, { 'captions.json': JSON.stringify(COCO) });
    await saveCoco(await readCoco(file), [{ id: '2', captions: ['A black cat.'] }]);
    const text = await readFile(file, 'utf8');
    expect(text).toBe(JSON.stringify({ ...COCO, annotations: COCO.annotations.map((a) => (a.id === 11 ? { ...a, caption: 'A black cat.' } : a)) }));
  });
});
