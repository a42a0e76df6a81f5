import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readFlickr8k, saveFlickr8k } from '../../../src-main/data/formats/flickr8k.ts';
import { tempDir, writeTree } from '../fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  await writeTree(dir, {
    'Flicker8k_Dataset/1000_a.jpg': null,
    'Flicker8k_Dataset/1001_b.jpg': null,
    'Flicker8k_Dataset/1002 c.jpg': null,
    'Flickr_8k.trainImages.txt': '1000_a.jpg\n',
    'Flickr_8k.devImages.txt': '1001_b.jpg\r\n',
    'Flickr_8k.testImages.txt': '',
  });
});
afterEach(() => cleanup());

const TOKENS =
  '1000_a.jpg#0\tA child in a pink dress .\r\n' +
  '1000_a.jpg#1\tA girl going into a wooden building .\r\n' +
  '1001_b.jpg#0\tA black dog and a spotted dog .\r\n' +
  'this line is broken\r\n' +
  '1000_a.jpg#2\tA child in a pink dress .\r\n' +
  '1001_b.jpg#1\t \r\n' +
  '9999_gone.jpg#0\tNo such image .\r\n' +
  '1002 c.jpg#0\tMột đứa trẻ .\r\n';

describe('readFlickr8k', () => {
  it('reads captions and the split lists beside the token file, reporting bad lines', async () => {
    await writeTree(dir, { 'Flickr8k.token.txt': TOKENS });
    const ds = await readFlickr8k(path.join(dir, 'Flickr8k.token.txt'));
    const images = path.join(dir, 'Flicker8k_Dataset');
    expect(ds.format).toBe('flickr8k');
    expect(ds.items).toEqual([
      { id: '1000_a.jpg', imagePath: path.join(images, '1000_a.jpg'), captions: ['A child in a pink dress .', 'A girl going into a wooden building .'], split: 'train' },
      { id: '1001_b.jpg', imagePath: path.join(images, '1001_b.jpg'), captions: ['A black dog and a spotted dog .'], split: 'val' },
      { id: '1002 c.jpg', imagePath: path.join(images, '1002 c.jpg'), captions: ['Một đứa trẻ .'] },
    ]);
    expect(ds.problems.map((p) => [p.kind, p.line ?? null])).toEqual([
      ['invalid-entry', 4],
      ['duplicate-caption', 5],
      ['empty-caption', 6],
      ['missing-image', null],
    ]);
  });

  it('throws one line when no line has the token form', async () => {
    await writeTree(dir, { 'notes.txt': 'hello\nworld\n' });
    await expect(readFlickr8k(path.join(dir, 'notes.txt'))).rejects.toThrow(/notes\.txt: not a Flickr8k token file/);
  });
});

describe('saveFlickr8k', () => {
  it('round trip: edited lines keep their image#n, new lines follow the image, other lines untouched', async () => {
    const file = path.join(dir, 'Flickr8k.token.txt');
    await writeTree(dir, { 'Flickr8k.token.txt': TOKENS });
    const ds = await readFlickr8k(file);
    await saveFlickr8k(ds, [
      { id: '1000_a.jpg', captions: ['A child in a red dress .', 'A girl going into a wooden building .', 'A new\tone .'] },
      { id: '1002 c.jpg', captions: [] },
    ]);
    expect(await readFile(file, 'utf8')).toBe(
      '1000_a.jpg#0\tA child in a red dress .\r\n' +
        '1000_a.jpg#1\tA girl going into a wooden building .\r\n' +
        '1001_b.jpg#0\tA black dog and a spotted dog .\r\n' +
        'this line is broken\r\n' +
        '1000_a.jpg#3\tA new one .\r\n' +
        '1001_b.jpg#1\t \r\n' +
        '9999_gone.jpg#0\tNo such image .\r\n',
    );
    const again = await readFlickr8k(file);
    expect(again.items.map((i) => [i.id, i.captions])).toEqual([
      ['1000_a.jpg', ['A child in a red dress .', 'A girl going into a wooden building .', 'A new one .']],
      ['1001_b.jpg', ['A black dog and a spotted dog .']],
    ]);
    expect(again.problems.find((p) => p.kind === 'missing-image')?.path).toBe(path.join(dir, 'Flicker8k_Dataset', '9999_gone.jpg'));
  });
});
