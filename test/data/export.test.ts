import { mkdir, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkExportOutput, cocoImageId, exportCaptions, neutralizeFormula, toCsv, type ExportRow } from '../../src-main/data/export.ts';
import { loadDataset } from '../../src-main/data/dataset.ts';
import { tempDir, writeTree } from './fixtures.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(() => cleanup());

const TRICKY: readonly string[] = [
  'A dog, a cat, and a bird',
  'He said "hello" to the "dog"',
  'first line\nsecond line',
  'windows\r\nline break',
  'A happy dog 🐕‍🦺 with a 🎾',
  'Một con chó đang chạy trên bãi cỏ xanh',
  'Straße, Ærø, naïve café — “quoted”',
  '',
];

describe('CSV export', () => {
  it('round trip through csv-parse gives back the same captions, paths and scores', async () => {
    const rows: ExportRow[] = TRICKY.map((caption, i) => ({ path: path.join(dir, `ảnh ${i}, "x".jpg`), caption, score: -1.25 * (i + 1), model: 'default v1' }));
    const out = path.join(dir, 'out', 'captions.csv');
    const report = await exportCaptions(rows, { format: 'csv', out, bom: true });
    expect(report).toEqual({ format: 'csv', written: [out], rows: TRICKY.length, skipped: [] });
    const bytes = await readFile(out);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.toString('utf8');
    expect(text.startsWith('\uFEFFpath,caption,score,model\r\n')).toBe(true);
    const records = parse(text, { bom: true, columns: true }) as Record<string, string>[];
    expect(records.map((r) => r.caption)).toEqual(TRICKY);
    expect(records.map((r) => r.path)).toEqual(rows.map((r) => r.path));
    // Negative scores stay numbers: neutralisation is for text cells only.
    expect(records.map((r) => Number(r.score))).toEqual(rows.map((r) => r.score));
    expect(records.every((r) => r.model === 'default v1')).toBe(true);
  });

  it('neutralises cells that a spreadsheet would run as formulas', async () => {
    const rows: ExportRow[] = [
      { path: '/i/1.jpg', caption: '=HYPERLINK("http://evil","click")', score: -0.5 },
      { path: '/i/2.jpg', caption: '+1 dog' },
      { path: '/i/3.jpg', caption: '-2 cats' },
      { path: '/i/4.jpg', caption: '@SUM(A1)' },
      { path: '/i/5.jpg', caption: '\tcmd' },
      { path: '/i/6.jpg', caption: 'a = b + c', model: '=cmd' },
    ];
    const records = parse(toCsv(rows), { columns: true }) as Record<string, string>[];
    expect(records.map((r) => r.caption)).toEqual([`'=HYPERLINK("http://evil","click")`, "'+1 dog", "'-2 cats", "'@SUM(A1)", "'\tcmd", 'a = b + c']);
    expect(records.map((r) => r.score)).toEqual(['-0.5', '', '', '', '', '']);
    expect(records[5]!.model).toBe("'=cmd");
    expect(neutralizeFormula('\rx')).toBe("'\rx");
    expect((parse(toCsv(rows, { neutralizeFormulas: false }), { columns: true }) as Record<string, string>[])[0]!.caption).toBe(rows[0]!.caption);
  });

  it('adds a references column (one per line) only when rows carry references', () => {
    const plain = toCsv([{ path: 'a.jpg', caption: 'x' }]);
    expect(plain).toBe('path,caption,score,model\r\na.jpg,x,,\r\n');
    const withRefs = parse(toCsv([{ path: 'a.jpg', caption: 'x', references: ['A dog.', 'A brown, dog.'] }]), { columns: true }) as Record<string, string>[];
    expect(withRefs[0]!.references).toBe('A dog.\nA brown, dog.');
  });
});

describe('JSONL and COCO results export', () => {
  it('writes one JSON object per line', async () => {
    const out = path.join(dir, 'c.jsonl');
    const rows: ExportRow[] = [
      { path: '/i/a.jpg', caption: TRICKY[2]!, score: -3, model: 'm' },
      { path: '/i/b.jpg', caption: TRICKY[5]! },
    ];
    await exportCaptions(rows, { format: 'jsonl', out });
    const lines = (await readFile(out, 'utf8')).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(lines.slice(0, 2).map((l) => JSON.parse(l) as unknown)).toEqual([
      { path: '/i/a.jpg', caption: TRICKY[2], score: -3, model: 'm' },
      { path: '/i/b.jpg', caption: TRICKY[5], score: null, model: null },
    ]);
  });

  it('writes [{image_id, caption}] with ids from imageId or the file name, one caption per image', async () => {
    const out = path.join(dir, 'results.json');
    const rows: ExportRow[] = [
      { path: '/coco/COCO_val2014_000000391895.jpg', caption: 'a man on a bike' },
      { path: '/coco/000000000139.jpg', caption: 'a kitchen' },
      { path: '/coco/000000000139.jpg', caption: 'second guess' },
      { path: '/x/photo.jpg', caption: 'no id' },
      { path: '/x/photo.jpg', caption: 'explicit', imageId: '42' },
    ];
    const report = await exportCaptions(rows, { format: 'coco-results', out });
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual([
      { image_id: 391895, caption: 'a man on a bike' },
      { image_id: 139, caption: 'a kitchen' },
      { image_id: 42, caption: 'explicit' },
    ]);
    expect(report.rows).toBe(3);
    expect(report.skipped.map((s) => s.reason)).toEqual([expect.stringMatching(/image_id 139 already/), expect.stringMatching(/no COCO image id/)]);
    expect(cocoImageId({ path: 'x.jpg', caption: '', imageId: 'abc' })).toBe('abc');
  });

  it('needs an output file for file formats', async () => {
    await expect(exportCaptions([], { format: 'csv' })).rejects.toThrow(/the csv format needs an output file/);
  });
});

describe('sidecar export', () => {
  it('writes name.txt beside each image, never overwriting unless asked', async () => {
    await writeTree(dir, { 'a.jpg': null, 'sub/b c.png': null, 'sub/b c.txt': 'hand-written\n' });
    const rows: ExportRow[] = [
      { path: path.join(dir, 'a.jpg'), caption: 'first' },
      { path: path.join(dir, 'a.jpg'), caption: 'second\nline' },
      { path: path.join(dir, 'sub', 'b c.png'), caption: 'model caption' },
      { path: path.join(dir, 'gone.jpg'), caption: 'nobody' },
    ];
    const report = await exportCaptions(rows, { format: 'sidecar' });
    expect(await readFile(path.join(dir, 'a.txt'), 'utf8')).toBe('first\nsecond line\n');
    expect(await readFile(path.join(dir, 'sub', 'b c.txt'), 'utf8')).toBe('hand-written\n');
    expect(report.written).toEqual([path.join(dir, 'a.txt')]);
    expect(report.skipped).toEqual([
      { path: path.join(dir, 'sub', 'b c.txt'), reason: 'caption file exists (overwrite not set)' },
      { path: path.join(dir, 'gone.jpg'), reason: 'image file not found' },
    ]);

    // Overwriting replaces the existing b c.txt in place: a new b c.caption beside it would be hidden by it.
    const again = await exportCaptions(rows.slice(2, 3), { format: 'sidecar', overwrite: true, sidecarExtension: '.caption' });
    expect(again.written).toEqual([path.join(dir, 'sub', 'b c.txt')]);
    expect(await readFile(path.join(dir, 'sub', 'b c.txt'), 'utf8')).toBe('model caption\n');
    // An image without a caption file gets one with the chosen extension.
    await writeTree(dir, { 'c.png': null });
    const fresh = await exportCaptions([{ path: path.join(dir, 'c.png'), caption: 'new' }], { format: 'sidecar', sidecarExtension: '.caption' });
    expect(fresh.written).toEqual([path.join(dir, 'c.caption')]);
  });

  it('treats an existing name.caption as the image\'s caption file: kept, or replaced in place, never hidden by a new name.txt', async () => {
    await writeTree(dir, { 'b.png': null, 'b.caption': 'hand-written one\nhand-written two\n' });
    const rows: ExportRow[] = [{ path: path.join(dir, 'b.png'), caption: 'model caption' }];
    const kept = await exportCaptions(rows, { format: 'sidecar' });
    expect(kept.skipped).toEqual([{ path: path.join(dir, 'b.caption'), reason: 'caption file exists (overwrite not set)' }]);
    expect((await readdir(dir)).sort()).toEqual(['b.caption', 'b.png']);
    expect((await loadDataset(dir)).items[0]!.captions).toEqual(['hand-written one', 'hand-written two']);

    const replaced = await exportCaptions(rows, { format: 'sidecar', overwrite: true });
    expect(replaced.written).toEqual([path.join(dir, 'b.caption')]);
    expect((await readdir(dir)).sort()).toEqual(['b.caption', 'b.png']);
    expect((await loadDataset(dir)).items[0]!.captions).toEqual(['model caption']);

    // With both files, the one the readers use (name.txt) is the one replaced, whatever extension is asked for.
    await writeTree(dir, { 'b.txt': 'the one read\n' });
    const both = await exportCaptions(rows, { format: 'sidecar', overwrite: true, sidecarExtension: '.caption' });
    expect(both.written).toEqual([path.join(dir, 'b.txt')]);
    expect((await loadDataset(dir)).items[0]!.captions).toEqual(['model caption']);
  });

  it('writes no file for an image whose captions are all empty, and says so', async () => {
    await writeTree(dir, { 'a.png': null, 'b.png': null });
    const report = await exportCaptions(
      [
        { path: path.join(dir, 'a.png'), caption: 'a caption' },
        { path: path.join(dir, 'b.png'), caption: '' },
      ],
      { format: 'sidecar' },
    );
    expect(report.rows).toBe(1);
    expect(report.written).toEqual([path.join(dir, 'a.txt')]);
    expect(report.skipped).toEqual([{ path: path.join(dir, 'b.png'), reason: 'empty caption; no caption file written' }]);
    expect((await readdir(dir)).sort()).toEqual(['a.png', 'a.txt', 'b.png']);
  });
});

describe('checkExportOutput', () => {
  it('refuses a folder and an input file as the output, and accepts a new file', async () => {
    await writeTree(dir, { 'caps.csv': 'image,caption\n', 'imgs/a.png': null });
    await mkdir(path.join(dir, 'out'));
    await expect(checkExportOutput(path.join(dir, 'out'), [path.join(dir, 'imgs')])).rejects.toThrow(`${path.join(dir, 'out')}: is a folder; the export needs a file name`);
    await expect(checkExportOutput(path.join(dir, 'imgs', '..', 'caps.csv'), [path.join(dir, 'caps.csv')])).rejects.toThrow(/caps\.csv: is also an input of this export/);
    await expect(checkExportOutput(path.join(dir, 'out', 'caps.csv'), [path.join(dir, 'caps.csv')])).resolves.toBeUndefined();
  });
});
