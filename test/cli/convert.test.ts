/**
 * `caption-studio convert`: a dataset's own captions in CSV, JSONL, caption files or COCO JSON, with no model.
 * Each format (but JSONL, which no reader takes) opens again as the same images with the same captions and splits.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src-main/data/dataset.ts';
import type { Dataset } from '../../src-main/data/dataset-types.ts';
import { runCli, tempDir, writeShapesDataset } from './cli-fixtures.ts';

let root: string;
let cleanup: () => Promise<void>;
let karpathy: string;
let original: Dataset;

/** Image file name → its captions and split, for comparing datasets read from different formats. */
function content(dataset: Dataset): Record<string, { captions: readonly string[]; split: string | undefined }> {
  return Object.fromEntries(dataset.items.map((item) => [path.basename(item.imagePath), { captions: item.captions, split: item.split }]));
}

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('cs-cli-convert-'));
  const shapes = path.join(root, 'shapes');
  const images = await writeShapesDataset(shapes);
  // A Karpathy file over the same images, with splits and captions that a careless CSV writer would mangle.
  const odd = ['-1 degrees, "cold" morning', '=SUM(A1) on a sign', 'a line\twith a tab'];
  const entries = images.slice(0, 9).map((img, i) => ({
    filename: path.basename(img.file),
    split: i < 6 ? 'train' : i < 8 ? 'val' : 'test',
    sentences: [{ raw: i < 3 ? odd[i]! : `shape number ${i}` }, { raw: `another caption ${i}` }],
  }));
  karpathy = path.join(shapes, 'dataset.json');
  await writeFile(karpathy, JSON.stringify({ images: entries, dataset: 'shapes' }));
  original = await loadDataset(karpathy);
});

afterAll(async () => {
  await cleanup();
});

describe('convert', () => {
  it('CSV and COCO read back as the same images, captions and splits', async () => {
    for (const [to, file] of [['csv', 'shapes.csv'], ['coco', 'captions.json']] as const) {
      const out = path.join(root, 'shapes', file);
      const r = await runCli(['convert', karpathy, '--to', to, '--out', out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ format: to, images: 9, captions: 18, written: [out] });
      const back = await loadDataset(out);
      expect(back.format).toBe(to);
      expect(content(back)).toEqual(content(original));
      expect(back.problems).toEqual([]);
    }
  });

  it('JSONL: one image per line with all its captions, paths relative to the output file', async () => {
    const out = path.join(root, 'shapes', 'shapes.jsonl');
    expect((await runCli(['convert', karpathy, '--to', 'jsonl', '--out', out])).code).toBe(0);
    const lines = (await readFile(out, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { image: string; captions: string[]; split?: string });
    expect(lines).toHaveLength(9);
    expect(lines[0]).toEqual({ image: path.basename(original.items[0]!.imagePath), captions: original.items[0]!.captions, split: original.items[0]!.split });
  });

  it('caption files beside the images read back as a sidecar dataset; existing ones are kept unless --overwrite', async () => {
    const folder = path.join(root, 'as-sidecar');
    await mkdir(folder);
    for (const item of original.items) await copyFile(item.imagePath, path.join(folder, path.basename(item.imagePath)));
    // The same Karpathy file beside the copies reads those copies; its CSV names them relative to this folder.
    await copyFile(karpathy, path.join(folder, 'dataset.json'));
    const csv = path.join(root, 'copies.csv');
    expect((await runCli(['convert', path.join(folder, 'dataset.json'), '--to', 'csv', '--out', csv])).code).toBe(0);
    const first = path.join(folder, path.basename(original.items[0]!.imagePath)).replace(/\.\w+$/, '.txt');
    await writeFile(first, 'a hand-written caption\n');
    const r = await runCli(['convert', csv, '--to', 'sidecar', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { written: string[]; skipped: { path: string; reason: string }[] };
    expect(report.written).toHaveLength(8);
    expect(report.skipped).toEqual([{ path: first, reason: 'caption file exists (overwrite not set)' }]);
    expect(await readFile(first, 'utf8')).toBe('a hand-written caption\n');
    expect((await runCli(['convert', csv, '--to', 'sidecar', '--overwrite'])).code).toBe(0);
    const back = await loadDataset(folder, { format: 'sidecar' });
    expect(back.items.every((item) => path.dirname(item.imagePath) === folder)).toBe(true);
    const captions = Object.fromEntries(Object.entries(content(back)).map(([k, v]) => [k, v.captions]));
    expect(captions).toEqual(Object.fromEntries(Object.entries(content(original)).map(([k, v]) => [k, v.captions])));
  });

  it('refuses to write over the dataset it reads, and a missing --out, in one line', async () => {
    const same = await runCli(['convert', karpathy, '--to', 'coco', '--out', karpathy]);
    expect(same.code).not.toBe(0);
    expect(same.stderr.trim()).toBe(`caption-studio: ${karpathy}: is also an input of this export; choose another output file`);
    const noOut = await runCli(['convert', karpathy, '--to', 'csv']);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain('--to csv needs --out FILE');
  });
});
