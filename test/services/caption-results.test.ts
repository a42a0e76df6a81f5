/**
 * captions.write and dataset.convert write files like an export does: never over a file that is not an earlier
 * export unless the request says overwrite, never into the home folder's hidden entries; caption files never
 * beside uploaded copies.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppServices } from '../../src-main/services/app-services.ts';
import { servicesInTempDir, writeFixedCaptionBundle, writeImage, writeSidecarDataset } from './fixtures.ts';

let root: string;
let services: AppServices;
let close: () => Promise<void> = async () => {};

beforeAll(async () => {
  ({ root, services, close } = await servicesInTempDir('cs-results-', (dir) =>
    writeFixedCaptionBundle(path.join(dir, 'builtin', 'default'), ['a', 'red', 'square'], 'Red square'),
  ));
});
afterAll(() => close());

describe('captions.write', () => {
  it('writes a CSV once, refuses to replace a file it did not write unless asked, and may rewrite its own output', async () => {
    const image = await writeImage(path.join(root, 'pics', 'a.png'), [200, 10, 10]);
    const items = [{ path: image, caption: 'a red square', score: -0.1, model: 'Red square' }];
    const out = path.join(root, 'out.csv');
    const first = await services.call('captions.write', { items, format: 'csv', outPath: out });
    expect(first).toMatchObject({ ok: true, value: { format: 'csv', rows: 1, written: [out] } });
    expect(await readFile(out, 'utf8')).toContain('a red square');
    // Written by this app before: may be replaced.
    expect((await services.call('captions.write', { items, format: 'csv', outPath: out })).ok).toBe(true);
    const notes = path.join(root, 'notes.csv');
    await writeFile(notes, 'my own notes\n');
    expect(await services.call('captions.write', { items, format: 'csv', outPath: notes })).toMatchObject({ ok: false, code: 'conflict' });
    expect(await readFile(notes, 'utf8')).toBe('my own notes\n');
    expect((await services.call('captions.write', { items, format: 'csv', outPath: notes, overwrite: true })).ok).toBe(true);
  });

  it('never writes into a hidden folder of the home directory', async () => {
    const image = await writeImage(path.join(root, 'pics', 'b.png'), [10, 10, 200]);
    const r = await services.call('captions.write', { items: [{ path: image, caption: 'x' }], format: 'jsonl', outPath: path.join(os.homedir(), '.caption-studio-test', 'x.jsonl') });
    expect(r).toMatchObject({ ok: false, code: 'validation' });
  });

  it('writes caption files beside local images but not beside uploaded copies', async () => {
    const upload = await services.call('files.upload', { name: 'up.png', base64: (await readFile(await writeImage(path.join(root, 'src.png'), [1, 2, 3]))).toString('base64') });
    if (!upload.ok) throw new Error(upload.error);
    const local = await writeImage(path.join(root, 'local', 'c.png'), [10, 200, 10]);
    const r = await services.call('captions.write', { items: [{ path: upload.value.path, caption: 'up' }, { path: local, caption: 'a green square' }], format: 'sidecar' });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.written).toEqual([path.join(root, 'local', 'c.txt')]);
    expect(r.value.skipped).toEqual([{ path: upload.value.path, reason: expect.stringContaining('an uploaded copy') }]);
  });
});

describe('dataset.convert', () => {
  it('converts without a model and follows the same output rules', async () => {
    const dir = await writeSidecarDataset(path.join(root, 'ds'));
    const out = path.join(root, 'ds.coco.json');
    const r = await services.call('dataset.convert', { source: { path: dir }, to: 'coco', outPath: out });
    expect(r).toMatchObject({ ok: true, value: { format: 'coco', images: 8, captions: 8 } });
    const mine = path.join(root, 'mine.json');
    await mkdir(path.dirname(mine), { recursive: true });
    await writeFile(mine, '{}');
    expect(await services.call('dataset.convert', { source: { path: dir }, to: 'coco', outPath: mine })).toMatchObject({ ok: false, code: 'conflict' });
  });
});
