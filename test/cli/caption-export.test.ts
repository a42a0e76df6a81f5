/**
 * `caption-studio caption` and `export` end to end, with a toy model trained here by the CLI on the shapes dataset:
 * a folder of new pictures (JPEG, PNG, a Unicode name with a space in a subfolder) mixed with a truncated JPEG, a
 * text file named .jpg and an empty file gets one result per file, and the export files read back with a CSV
 * parser hold the same captions.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SHAPES_TRAINING,
  kindNamed,
  messageLines,
  runCli,
  shapeJpeg,
  tempDir,
  writeShapesDataset,
  type Kind,
} from './cli-fixtures.ts';

interface CaptionLine {
  readonly path: string;
  readonly caption: string;
  readonly score: number;
  readonly alternatives: { caption: string; score: number }[];
  readonly tags: { label: string; score: number }[];
}

let root: string;
let cleanup: () => Promise<void>;
let modelDir: string;
let mixed: string;
/** The pictures in `mixed` that can be read, in the order the CLI walks the folder, with the shape each shows. */
let good: { file: string; kind: Kind }[];
/** The files in `mixed` that cannot be read, with the reason the CLI gives. */
let bad: { file: string; error: string }[];

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('cs-cli-caption-'));
  const dataset = path.join(root, 'shapes');
  await writeShapesDataset(dataset, { variants: 2 });
  modelDir = path.join(root, 'model');
  const trained = await runCli(['train', dataset, '--out', modelDir, '--cache', path.join(root, 'cache'), '--name', 'shapes', ...SHAPES_TRAINING]);
  if (trained.code !== 0) throw new Error(`training the test model failed:\n${trained.stderr}`);

  // New pictures (variant 2: a size and place the model never saw) and broken files, plus a file the walk skips.
  mixed = path.join(root, 'to caption');
  await mkdir(path.join(mixed, 'sub'), { recursive: true });
  const circle = path.join(mixed, 'circle.jpg');
  const square = path.join(mixed, 'sub', 'ảnh vuông 1.jpg');
  const triangle = path.join(mixed, 'triangle.png');
  await writeFile(circle, await shapeJpeg('circle', 'red', 'white', 2));
  await writeFile(square, await shapeJpeg('square', 'blue', 'black', 2));
  await writeFile(triangle, await sharp(await shapeJpeg('triangle', 'green', 'white', 2)).png().toBuffer());
  const jpeg = await shapeJpeg('square', 'yellow', 'white', 2);
  const cut = path.join(mixed, 'cut.jpg');
  const notes = path.join(mixed, 'notes.jpg');
  const empty = path.join(mixed, 'empty.png');
  await writeFile(cut, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
  await writeFile(notes, 'these are not pixels\n');
  await writeFile(empty, '');
  await writeFile(path.join(mixed, 'readme.md'), '# not an image name, so not captioned\n');
  good = [
    { file: circle, kind: 'circle' },
    { file: square, kind: 'square' },
    { file: triangle, kind: 'triangle' },
  ];
  bad = [
    { file: cut, error: 'truncated JPEG' },
    { file: notes, error: 'not an image (file content is text)' },
    { file: empty, error: 'empty file (0 bytes)' },
  ];
});

afterAll(async () => {
  await cleanup();
});

/** Captions from `caption --json` on the good pictures, by path. */
const captionsByPath = new Map<string, CaptionLine>();

describe('caption', () => {
  it('--json: one line per file in folder order, captions for pictures and errors for broken files; exit 0', async () => {
    const r = await runCli(['caption', mixed, '--model', modelDir, '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    // Sorted walk: circle, cut, empty, notes, sub/…, triangle (readme.md is not an image name).
    const order = [good[0]!.file, bad[0]!.file, bad[2]!.file, bad[1]!.file, good[1]!.file, good[2]!.file];
    expect(lines.map((l) => l.path)).toEqual(order);
    for (const { file, error } of bad) {
      expect(lines.find((l) => l.path === file)).toEqual({ path: file, error });
    }
    for (const { file, kind } of good) {
      const line = lines.find((l) => l.path === file) as unknown as CaptionLine;
      expect(Object.keys(line)).toEqual(['path', 'caption', 'score', 'alternatives', 'tags']);
      // Known answer: the toy model names the shape of a picture it never saw.
      expect(kindNamed(line.caption), line.caption).toBe(kind);
      expect(line.score).toBeLessThanOrEqual(0);
      // --top 3 (default): the best and two alternatives, ranked by score.
      expect(line.alternatives).toHaveLength(2);
      const scores = [line.score, ...line.alternatives.map((a) => a.score)];
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      expect(new Set([line.caption, ...line.alternatives.map((a) => a.caption)]).size).toBe(3);
      // Up to five ImageNet tags, most likely first, none under 1 %, probabilities that sum to at most 1.
      expect(line.tags.length).toBeGreaterThanOrEqual(1);
      expect(line.tags.length).toBeLessThanOrEqual(5);
      const tagScores = line.tags.map((t) => t.score);
      expect(tagScores).toEqual([...tagScores].sort((a, b) => b - a));
      expect(tagScores.every((s) => s >= 0.01 && s <= 1)).toBe(true);
      expect(tagScores.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1 + 1e-3);
      expect(line.tags.every((t) => typeof t.label === 'string' && t.label.length > 0)).toBe(true);
      captionsByPath.set(file, line);
    }
    expect(r.stderr).not.toMatch(/^caption-studio:/m);
  });

  it('--workers 2 (more than two chunks of files: worker threads) prints what --workers 1 prints, and exits', async () => {
    const many = path.join(root, 'many');
    await mkdir(many, { recursive: true });
    const files: string[] = [];
    for (const [i, colour] of (['red', 'green', 'blue', 'yellow'] as const).entries()) {
      for (const [j, kind] of (['circle', 'square', 'triangle'] as const).entries()) {
        for (const background of ['white', 'black'] as const) {
          for (const variant of [1, 2]) {
            const file = path.join(many, `${i}${j}-${background}-${variant}.jpg`);
            await writeFile(file, await shapeJpeg(kind, colour, background, variant));
            files.push(file);
          }
        }
      }
    }
    const broken = path.join(many, 'broken.jpg');
    await writeFile(broken, 'not a picture\n');
    expect(files.length + 1).toBeGreaterThan(32); // the CLI's chunks hold 16
    const parse = (stdout: string): Record<string, unknown>[] => stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const one = await runCli(['caption', many, '--model', modelDir, '--json', '--workers', '1']);
    const two = await runCli(['caption', many, '--model', modelDir, '--json', '--workers', '2']);
    expect(one.code).toBe(0);
    expect(two.code).toBe(0); // …and the process ended: no thread left running
    const [a, b] = [parse(one.stdout), parse(two.stdout)];
    expect(b.map((l) => l.path)).toEqual(a.map((l) => l.path));
    expect([...b.map((l) => l.path)].sort()).toEqual([...files, broken].sort());
    expect(new Set(b.map((l) => l.caption)).size).toBeGreaterThan(2);
    b.forEach((line, k) => {
      if (line.path === broken) {
        expect(line).toEqual({ path: broken, error: 'not an image (file content is text)' });
        expect(a[k]).toEqual(line);
        return;
      }
      const [x, y] = [line as unknown as CaptionLine, a[k] as unknown as CaptionLine];
      expect(x.caption).toBe(y.caption);
      expect(x.score).toBeCloseTo(y.score, 3);
      expect(x.alternatives.map((c) => c.caption)).toEqual(y.alternatives.map((c) => c.caption));
      expect(x.tags.map((t) => t.label)).toEqual(y.tags.map((t) => t.label));
      x.tags.forEach((t, j) => expect(t.score).toBeCloseTo(y.tags[j]!.score, 3));
    });
  });

  it('--top 1 --tags 0: no alternatives and no tags, same best caption', async () => {
    const r = await runCli(['caption', good[0]!.file, '--model', modelDir, '--json', '--top', '1', '--tags', '0']);
    expect(r.code).toBe(0);
    const [line] = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as CaptionLine);
    expect(line).toMatchObject({ path: good[0]!.file, alternatives: [], tags: [] });
    expect(kindNamed(line!.caption)).toBe('circle');
  });

  it('only broken files: each gets its error line, then exit 1 with one message', async () => {
    const r = await runCli(['caption', ...bad.map((b) => b.file), '--model', modelDir, '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual(bad.map(({ file, error }) => ({ path: file, error })));
    expect(messageLines(r.stderr)).toEqual(['caption-studio: none of the 3 files could be captioned']);
  });

  it('as text: the caption under each path on stdout, unreadable files on stderr', async () => {
    const r = await runCli(['caption', good[0]!.file, bad[0]!.file, '--model', modelDir, '--quiet']);
    expect(r.code).toBe(0);
    const out = r.stdout.split('\n');
    expect(out[0]).toBe(good[0]!.file);
    expect(out[1]).toMatch(/^ {2}\S.* {2}\(-?\d+\.\d{3}\)$/);
    expect(out.find((l) => l.startsWith('  tags: '))).toBeDefined();
    expect(r.stderr).toBe(`${bad[0]!.file}: ${bad[0]!.error}\n`);
  });
});

describe('export', () => {
  it('--out x.csv: columns path,caption,score,model, one row per readable picture, the same captions as caption', async () => {
    const out = path.join(root, 'export', 'captions.csv');
    await mkdir(path.dirname(out), { recursive: true });
    const r = await runCli(['export', mixed, '--model', modelDir, '--out', out]);
    expect(r.code).toBe(0);
    for (const { file, error } of bad) expect(r.stderr).toContain(`${file}: ${error}\n`);
    expect(r.stderr).toContain(`exported 3 captions to ${out} (3 images failed)`);
    const text = await readFile(out, 'utf8');
    expect(text.startsWith('path,caption,score,model\r\n')).toBe(true);
    const rows = parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
    expect(rows.map((row) => row.path)).toEqual([good[0]!.file, good[1]!.file, good[2]!.file]);
    for (const row of rows) {
      expect(Object.keys(row)).toEqual(['path', 'caption', 'score', 'model']);
      expect(row.model).toBe('shapes');
      const captioned = captionsByPath.get(row.path!);
      expect(captioned, row.path).toBeDefined();
      expect(row.caption).toBe(captioned!.caption);
      expect(Number(row.score)).toBeCloseTo(captioned!.score, 4);
    }
  });

  it('--bom starts the file with a UTF-8 byte-order mark and otherwise reads back the same', async () => {
    const plain = path.join(root, 'export', 'plain.csv');
    const bom = path.join(root, 'export', 'bom.csv');
    const goodFiles = good.map((g) => g.file);
    expect((await runCli(['export', ...goodFiles, '--model', modelDir, '--out', plain, '-q'])).code).toBe(0);
    const r = await runCli(['export', ...goodFiles, '--model', modelDir, '--out', bom, '--bom', '-q']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const bytes = await readFile(bom);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const withBom = parse(bytes, { columns: true, bom: true }) as Record<string, string>[];
    const without = parse(await readFile(plain), { columns: true }) as Record<string, string>[];
    expect(withBom).toEqual(without);
    expect(withBom.map((row) => row.path)).toEqual(goodFiles);
    // The Unicode file name survives the round trip.
    expect(withBom[1]!.path!.endsWith(path.join('sub', 'ảnh vuông 1.jpg'))).toBe(true);
  });

  it('--format jsonl: one {path, caption, score, model} object per line', async () => {
    const out = path.join(root, 'export', 'captions.jsonl');
    const r = await runCli(['export', mixed, '--model', modelDir, '--out', out, '--format', 'jsonl', '-q']);
    expect(r.code).toBe(0);
    const lines = (await readFile(out, 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toEqual(
      good.map(({ file }) => ({ path: file, caption: captionsByPath.get(file)!.caption, score: captionsByPath.get(file)!.score, model: 'shapes' })),
    );
  });

  it("a dataset file as input: each image's references go along in a references column", async () => {
    const dir = path.join(root, 'csv-dataset');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'a.jpg'), await shapeJpeg('circle', 'yellow', 'black', 2));
    await writeFile(path.join(dir, 'b.jpg'), await shapeJpeg('triangle', 'red', 'black', 2));
    const csv = 'file,caption\na.jpg,"a yellow circle, on black"\na.jpg,a circle\nb.jpg,"a ""red"" triangle"\n';
    await writeFile(path.join(dir, 'captions.csv'), csv);
    const out = path.join(dir, 'out.csv');
    const r = await runCli(['export', path.join(dir, 'captions.csv'), '--model', modelDir, '--out', out, '-q']);
    expect(r.code).toBe(0);
    const rows = parse(await readFile(out, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(rows.map((row) => [path.basename(row.path!), row.references])).toEqual([
      ['a.jpg', 'a yellow circle, on black\na circle'],
      ['b.jpg', 'a "red" triangle'],
    ]);
    expect(rows.map((row) => kindNamed(row.caption!))).toEqual(['circle', 'triangle']);

    // The dataset file itself as --out, or a folder: refused before any work, the dataset untouched.
    for (const target of [path.join(dir, 'captions.csv'), dir]) {
      const refused = await runCli(['export', path.join(dir, 'captions.csv'), '--model', modelDir, '--out', target, '-q']);
      expect(refused.code).toBe(1);
      expect(messageLines(refused.stderr)).toEqual([
        `caption-studio: ${target}: ${target === dir ? 'is a folder; the export needs a file name' : 'is also an input of this export; choose another output file'}`,
      ]);
    }
    expect(await readFile(path.join(dir, 'captions.csv'), 'utf8')).toBe(csv);
    // The folder read as a dataset: its annotation file is an input too.
    await rm(out);
    const viaFolder = await runCli(['export', dir, '--dataset', '--model', modelDir, '--out', path.join(dir, 'captions.csv'), '-q']);
    expect(viaFolder.code).toBe(1);
    expect(messageLines(viaFolder.stderr)).toEqual([`caption-studio: ${path.join(dir, 'captions.csv')}: is also an input of this export; choose another output file`]);
    expect(await readFile(path.join(dir, 'captions.csv'), 'utf8')).toBe(csv);
  });

  it('--format sidecar writes name.txt beside each picture, and will not replace them without --overwrite', async () => {
    const dir = path.join(root, 'sidecar');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'one.jpg'), await shapeJpeg('triangle', 'blue', 'white', 2));
    await writeFile(path.join(dir, 'two.jpg'), await shapeJpeg('circle', 'green', 'black', 2));
    const first = await runCli(['export', dir, '--model', modelDir, '--format', 'sidecar', '-q']);
    expect(first.code).toBe(0);
    const one = await readFile(path.join(dir, 'one.txt'), 'utf8');
    const two = await readFile(path.join(dir, 'two.txt'), 'utf8');
    expect([kindNamed(one.trim()), kindNamed(two.trim())]).toEqual(['triangle', 'circle']);

    await writeFile(path.join(dir, 'one.txt'), 'my own caption\n');
    const again = await runCli(['export', dir, '--model', modelDir, '--format', 'sidecar', '-q']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`skipped ${path.join(dir, 'one.txt')}: caption file exists`);
    expect(messageLines(again.stderr).at(-1)).toBe('caption-studio: no caption files written: all 2 were skipped (--overwrite replaces existing ones)');
    expect(await readFile(path.join(dir, 'one.txt'), 'utf8')).toBe('my own caption\n');

    const replaced = await runCli(['export', dir, '--model', modelDir, '--format', 'sidecar', '--overwrite', '-q']);
    expect(replaced.code).toBe(0);
    expect(await readFile(path.join(dir, 'one.txt'), 'utf8')).toBe(one);
  });

  it('--format coco-results takes the image ids of a COCO dataset; without ids it refuses and writes nothing', async () => {
    const dir = path.join(root, 'coco');
    await mkdir(path.join(dir, 'images'), { recursive: true });
    await writeFile(path.join(dir, 'images', 'pic-a.jpg'), await shapeJpeg('square', 'red', 'black', 2));
    await writeFile(path.join(dir, 'images', 'pic-b.jpg'), await shapeJpeg('circle', 'blue', 'white', 2));
    const coco = {
      images: [
        { id: 42, file_name: 'images/pic-a.jpg' },
        { id: 7, file_name: 'images/pic-b.jpg' },
      ],
      annotations: [
        { id: 1, image_id: 42, caption: 'a red square on a black background' },
        { id: 2, image_id: 7, caption: 'a blue circle on a white background' },
      ],
    };
    await writeFile(path.join(dir, 'captions.json'), JSON.stringify(coco));
    const out = path.join(dir, 'results.json');
    const r = await runCli(['export', path.join(dir, 'captions.json'), '--model', modelDir, '--format', 'coco-results', '--out', out, '-q']);
    expect(r.code).toBe(0);
    const results = JSON.parse(await readFile(out, 'utf8')) as { image_id: number; caption: string }[];
    expect(results.map((x) => x.image_id).sort((a, b) => a - b)).toEqual([7, 42]);
    expect(kindNamed(results.find((x) => x.image_id === 42)!.caption)).toBe('square');

    const noIds = path.join(dir, 'no-ids.json');
    const refused = await runCli(['export', path.join(dir, 'images'), '--model', modelDir, '--format', 'coco-results', '--out', noIds, '-q']);
    expect(refused.code).toBe(1);
    expect(messageLines(refused.stderr)).toEqual([
      'caption-studio: nothing to export as coco-results: no image has a COCO image id (export a COCO dataset, or name files by their id)',
    ]);
    expect(existsSync(noIds)).toBe(false);
  });

  it('without --out: refused in one line before any work', async () => {
    const r = await runCli(['export', mixed, '--model', modelDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('caption-studio: --out is needed for --format csv\n');
  });
});
