import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCsv, saveCsv } from '../../../src-main/data/formats/csv.ts';
import { rejection, tempDir, writeTree } from '../fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  await writeTree(dir, { 'a.jpg': null, 'images/b c.png': null, 'ảnh đẹp.jpg': null });
});
afterEach(() => cleanup());

const HEADERED =
  '\uFEFFid,Image,Caption,Split,notes\r\n' +
  '1,a.jpg,"A dog, running",train,keep me\r\n' +
  '2,b c.png,"He said ""hi""",val,\r\n' +
  '3,a.jpg,"two\r\nlines",train,x\r\n' +
  '4,missing.jpg,Nobody here,train,\r\n' +
  '5,ảnh đẹp.jpg,   ,test,\r\n' +
  '6,a.jpg,"A dog, running",train,dup\r\n' +
  '7\r\n' +
  '\r\n' +
  '8,ảnh đẹp.jpg,Con chó 🐕 chạy,test,last\r\n';

describe('readCsv', () => {
  it('reads a headered CSV with BOM, CRLF, quoting, extra columns and a split column', async () => {
    await writeTree(dir, { 'captions.csv': HEADERED });
    const ds = await readCsv(path.join(dir, 'captions.csv'));
    expect(ds.format).toBe('csv');
    expect(ds.splits).toEqual({ kind: 'dataset' });
    expect(ds.items).toEqual([
      { id: 'a.jpg', imagePath: path.join(dir, 'a.jpg'), captions: ['A dog, running', 'two\r\nlines'], split: 'train' },
      { id: 'b c.png', imagePath: path.join(dir, 'images', 'b c.png'), captions: ['He said "hi"'], split: 'val' },
      { id: 'ảnh đẹp.jpg', imagePath: path.join(dir, 'ảnh đẹp.jpg'), captions: ['Con chó 🐕 chạy'], split: 'test' },
    ]);
    const problems = ds.problems.map((p) => [p.kind, p.line ?? null]);
    expect(problems).toEqual(
      expect.arrayContaining([
        ['empty-caption', 7],
        ['duplicate-caption', 8],
        ['invalid-entry', 9],
        ['missing-image', null],
      ]),
    );
    expect(ds.problems).toHaveLength(4);
    const missing = ds.problems.find((p) => p.kind === 'missing-image')!;
    expect(missing.path).toBe(path.join(dir, 'missing.jpg'));
    expect(missing.reason).toMatch(/captions\.csv line 6.*1 caption skipped/);
  });

  it('reads the header-less "image.jpg, caption" form, commas in the caption included', async () => {
    await writeTree(dir, { 'caps.txt': 'a.jpg, A dog, a cat and a bird\na.jpg, "quoted, whole"\nb c.png,A "quoted" word\n' });
    const ds = await readCsv(path.join(dir, 'caps.txt'));
    expect(ds.items.map((i) => [i.id, i.captions])).toEqual([
      ['a.jpg', ['A dog, a cat and a bird', 'quoted, whole']],
      ['b c.png', ['A "quoted" word']],
    ]);
    expect(ds.problems).toEqual([]);
  });

  it('reads header-less tab-separated text and a pipe-separated header with padded names', async () => {
    await writeTree(dir, {
      'caps.tsv': 'a.jpg\tA dog, running\nb c.png\tA cat\n',
      'results.csv': 'image_name| comment_number| comment\na.jpg| 0| A dog.\na.jpg| 1| Two dogs.\n',
    });
    const tsv = await readCsv(path.join(dir, 'caps.tsv'));
    expect(tsv.items.map((i) => [i.id, i.captions])).toEqual([
      ['a.jpg', ['A dog, running']],
      ['b c.png', ['A cat']],
    ]);
    const pipe = await readCsv(path.join(dir, 'results.csv'));
    expect(pipe.items.map((i) => [i.id, i.captions])).toEqual([['a.jpg', ['A dog.', 'Two dogs.']]]);
  });

  it('reads UTF-16 text (Excel "Unicode text") and resolves images against imagesDir', async () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('file\ttext\r\nb c.png\tMột con mèo\r\n', 'utf16le')]);
    await writeTree(dir, { 'sub/caps.txt': utf16 });
    const ds = await readCsv(path.join(dir, 'sub', 'caps.txt'), { imagesDir: path.join(dir, 'images') });
    expect(ds.items).toEqual([{ id: 'b c.png', imagePath: path.join(dir, 'images', 'b c.png'), captions: ['Một con mèo'] }]);
  });

  it('throws one line naming the file and line for an unbalanced quote', async () => {
    await writeTree(dir, { 'bad.csv': 'image,caption\na.jpg,"never closed\na.jpg,ok\n' });
    const err = await rejection(readCsv(path.join(dir, 'bad.csv')));
    expect(err.message).toContain(path.join(dir, 'bad.csv'));
    expect(err.message).toMatch(/invalid CSV: Quote Not Closed.*line \d+$/);
    expect(err.message).not.toContain('\n');
  });

  it('throws when there is neither an image column nor the header-less form, or no caption column', async () => {
    await writeTree(dir, { 'x.csv': 'name,value\nfoo,bar\n', 'y.csv': 'image,score\na.jpg,1\n' });
    await expect(readCsv(path.join(dir, 'x.csv'))).rejects.toThrow(/x\.csv: no image column in the header/);
    await expect(readCsv(path.join(dir, 'y.csv'))).rejects.toThrow(/y\.csv: no caption column in the header/);
  });
});

describe('saveCsv', () => {
  it('round trip: only edited rows change; other rows keep their bytes, columns and order', async () => {
    await writeTree(dir, { 'captions.csv': HEADERED });
    const file = path.join(dir, 'captions.csv');
    const ds = await readCsv(file);
    await saveCsv(ds, [
      { id: 'a.jpg', captions: ['A dog, walking', 'two lines', 'A "new" one'] },
      { id: 'ảnh đẹp.jpg', captions: [] },
    ]);
    const text = await readFile(file, 'utf8');
    expect(text).toBe(
      '\uFEFFid,Image,Caption,Split,notes\r\n' +
        '1,a.jpg,"A dog, walking",train,keep me\r\n' +
        '2,b c.png,"He said ""hi""",val,\r\n' +
        '3,a.jpg,two lines,train,x\r\n' +
        '4,missing.jpg,Nobody here,train,\r\n' +
        '5,ảnh đẹp.jpg,   ,test,\r\n' +
        // The new caption goes where the image's last row was (row 6, a now-removed duplicate).
        ',a.jpg,"A ""new"" one",,\r\n' +
        '7\r\n' +
        '\r\n',
    );
    const again = await readCsv(file);
    expect(again.items.map((i) => [i.id, i.captions, i.split])).toEqual([
      ['a.jpg', ['A dog, walking', 'two lines', 'A "new" one'], 'train'],
      ['b c.png', ['He said "hi"'], 'val'],
      ['ảnh đẹp.jpg', [], 'test'],
    ]);
    // Still valid CSV for any parser.
    expect(parse(text, { bom: true, relax_column_count: true, skip_empty_lines: true })).toHaveLength(8);
  });

  it('adds rows after the last row of the image in a header-less file without a final newline', async () => {
    const file = path.join(dir, 'caps.txt');
    await writeTree(dir, { 'caps.txt': 'a.jpg, first, with comma\nb c.png, other' });
    const ds = await readCsv(file);
    await saveCsv(ds, [
      { id: 'a.jpg', captions: ['first, with comma', 'second'] },
      { id: 'b c.png', captions: ['changed', 'more'] },
    ]);
    expect(await readFile(file, 'utf8')).toBe('a.jpg, first, with comma\na.jpg,second\nb c.png,changed\nb c.png,more');
  });

  it('finds an image whose file name is stored in the other Unicode normal form (NFD on disk, NFC in the CSV)', async () => {
    const nfc = 'Ảnh mèo.jpg'.normalize('NFC');
    const nfd = nfc.normalize('NFD');
    expect(nfd).not.toBe(nfc);
    await writeTree(dir, { [nfd]: null, 'caps.csv': `image,caption\n${nfc},Con mèo\n` });
    const ds = await readCsv(path.join(dir, 'caps.csv'));
    expect(ds.problems).toEqual([]);
    expect(ds.items.map((i) => [i.imagePath, i.captions])).toEqual([[path.join(dir, nfd), ['Con mèo']]]);
  });
});
