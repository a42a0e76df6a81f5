/**
 * `caption-studio stats` end to end, and how every command reports bad input: one line on stderr naming the file
 * and the reason, a non-zero exit status, and a stack trace only with --verbose.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageLines, runCli, tempDir, writeShapesDataset, type ShapeImage } from './cli-fixtures.ts';

let root: string;
let cleanup: () => Promise<void>;
let sidecar: string;
let images: ShapeImage[];

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('cs-cli-stats-'));
  sidecar = path.join(root, 'shapes');
  images = await writeShapesDataset(sidecar);
  // A caption file with no image beside it, an image with no captions, and a Unicode name with a space in a subfolder.
  await writeFile(path.join(sidecar, 'ghost.txt'), 'a ghost on a white background\n');
  await copyFile(images[0]!.file, path.join(sidecar, 'lonely.jpg'));
  await mkdir(path.join(sidecar, 'sub'));
  await copyFile(images[1]!.file, path.join(sidecar, 'sub', 'ảnh đỏ 1.jpg'));
  await writeFile(path.join(sidecar, 'sub', 'ảnh đỏ 1.txt'), 'một hình tròn màu đỏ\n');
});

afterAll(async () => {
  await cleanup();
});

describe('stats on a sidecar folder', () => {
  it('counts images, captions, words and caption lengths, and reports the orphan caption file', async () => {
    const r = await runCli(['stats', sidecar, '--min-count', '1']);
    expect(r.code).toBe(0);
    const line = (label: string): string => {
      const found = r.stdout.split('\n').find((l) => l.startsWith(label));
      if (!found) throw new Error(`no '${label}' line in:\n${r.stdout}`);
      return found.slice(label.length).trim();
    };
    expect(line('dataset')).toBe(`${sidecar} (sidecar)`);
    // 24 shapes + lonely.jpg + ảnh đỏ 1.jpg; 24 × 2 captions + 1 Vietnamese one.
    expect(line('images ')).toBe('26');
    expect(line('captions')).toBe('49');
    expect(line('images w/o captions')).toBe('1');
    expect(line('missing image files')).toBe('0');
    // a on background + 4 colours + 3 kinds + white black = 12 English words; một hình tròn màu đỏ = 5 more.
    expect(line('distinct words')).toBe('17');
    expect(line('vocabulary')).toMatch(/^17 \(words seen ≥ 1 times/);
    // 25 captions of 5 words, 24 of 7.
    expect(line('caption length')).toBe('p5 5, median 5, p95 7, max 7, mean 6.0');
    expect(line('problems')).toBe('orphan-caption 1');
    expect(messageLines(r.stderr)).toEqual([`${path.join(sidecar, 'ghost.txt')}: no image named ghost.* beside this caption file`]);
  });

  it('--json gives the same counts, with the vocabulary at the threshold', async () => {
    // Word counts: a 72, on 48, background 24, white 24, black 24, each kind 16, each colour 12, Vietnamese words 1.
    const r = await runCli(['stats', sidecar, '--json', '--min-count', '13']);
    expect(r.code).toBe(0);
    const stats = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(stats).toMatchObject({
      dataset: sidecar,
      format: 'sidecar',
      images: 26,
      captions: 49,
      imagesWithoutCaptions: 1,
      missingImageFiles: 0,
      words: 17,
      vocabularySize: 8,
      minWordCount: 13,
      length: { p5: 5, p50: 5, p95: 7, max: 7 },
      problems: { 'orphan-caption': 1 },
    });
    expect((stats.length as { mean: number }).mean).toBeCloseTo(293 / 49, 10);
  });
});

describe('stats --check-images', () => {
  it('reads every image and reports, one line each, those that would not load; the rest of the counts stay', async () => {
    const dir = path.join(root, 'check');
    await mkdir(dir);
    await copyFile(images[0]!.file, path.join(dir, 'good.jpg'));
    const jpeg = await readFile(images[1]!.file);
    await writeFile(path.join(dir, 'cut.jpg'), jpeg.subarray(0, jpeg.length - 64));
    await writeFile(path.join(dir, 'notes.jpg'), 'not a picture at all');
    await writeFile(path.join(dir, 'empty.png'), '');
    for (const name of ['good', 'cut', 'notes', 'empty']) await writeFile(path.join(dir, `${name}.txt`), `a caption of ${name}\n`);
    const r = await runCli(['stats', dir, '--check-images', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ images: 4, captions: 4, unreadableImages: 3 });
    expect(messageLines(r.stderr).sort()).toEqual([
      `${path.join(dir, 'cut.jpg')}: truncated JPEG`,
      `${path.join(dir, 'empty.png')}: empty file (0 bytes)`,
      `${path.join(dir, 'notes.jpg')}: not an image (file content is text)`,
    ]);
    // Without the option nothing is read, and the JSON has no such count.
    expect(JSON.parse((await runCli(['stats', dir, '--json'])).stdout)).not.toHaveProperty('unreadableImages');
  });
});

describe('stats on a CSV file', () => {
  it('reports a row naming a missing image and an empty caption, and still exits 0', async () => {
    const dir = path.join(root, 'csv');
    await mkdir(path.join(dir, 'imgs'), { recursive: true });
    await copyFile(images[0]!.file, path.join(dir, 'imgs', 'one.jpg'));
    await copyFile(images[2]!.file, path.join(dir, 'imgs', 'two.jpg'));
    await copyFile(images[4]!.file, path.join(dir, 'imgs', 'three.jpg'));
    const csv = [
      'image,caption',
      'imgs/one.jpg,"a red circle, on white"',
      'imgs/one.jpg,a red circle',
      'imgs/two.jpg,"a ""red"" square"',
      'imgs/missing.jpg,a ghost',
      'imgs/three.jpg,',
      '',
    ].join('\r\n');
    const file = path.join(dir, 'captions.csv');
    await writeFile(file, `\ufeff${csv}`);
    const r = await runCli(['stats', file, '--json', '--min-count', '1']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      format: 'csv',
      images: 3,
      captions: 3,
      imagesWithoutCaptions: 1,
      missingImageFiles: 1,
      // a red circle on white square
      words: 6,
      problems: { 'missing-image': 1, 'empty-caption': 1 },
    });
    const problems = messageLines(r.stderr);
    expect(problems).toHaveLength(2);
    expect(problems.find((l) => l.includes('missing.jpg'))).toMatch(/^.*imgs[/\\]missing\.jpg: image file not found \(named at captions\.csv line 5\)/);
    // path:line: reason, the file named once
    expect(problems.find((l) => l.includes('empty caption'))).toMatch(/^\S*captions\.csv:6: empty caption for '\S+' skipped$/);
  });
});

describe('errors', () => {
  it('a dataset path that does not exist: exit 1 and one line naming it', async () => {
    const missing = path.join(root, 'nowhere');
    const r = await runCli(['stats', missing]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`caption-studio: ${missing}: no such file or folder\n`);
  });

  it('invalid JSON: exit 1 and one line naming the file; --verbose adds the stack trace', async () => {
    const file = path.join(root, 'broken', 'captions.json');
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, '{"images": [{"id": 1, "file_name": "a.jpg"}');
    const r = await runCli(['stats', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^caption-studio: ${escapeRegExp(file)}: invalid JSON`));
    expect(r.stderr).not.toMatch(/^\s+at /m);

    const verbose = await runCli(['stats', file, '--verbose']);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr.split('\n')[0]).toBe(lines[0]);
    expect(verbose.stderr).toMatch(/^\s+at .*common\.ts:\d+:\d+\)?$/m);
  });

  it('a folder that is not a model: info says so in one line', async () => {
    const r = await runCli(['info', sidecar]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`caption-studio: ${path.join(sidecar, 'model.json')}: no model here (file not found)\n`);
  });

  it('usage errors come from the argument parser with a non-zero status', async () => {
    const noOut = await runCli(['train', sidecar]);
    expect(noOut.code).not.toBe(0);
    expect(noOut.stderr).toContain("required option '-o, --out <dir>' not specified");
    const badNumber = await runCli(['stats', sidecar, '--min-count', 'lots']);
    expect(badNumber.code).not.toBe(0);
    expect(badNumber.stderr).toContain("expected a positive integer, got 'lots'");
    const tooMany = await runCli(['caption', sidecar, '--workers', '100000']);
    expect(tooMany.code).not.toBe(0);
    expect(tooMany.stderr).toMatch(/expected at most \d+ threads \(4 per core/);
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
