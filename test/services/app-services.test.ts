/**
 * The services behind the contract, end to end on the real engine: a hand-built model whose caption is known,
 * generated images (one corrupt), a sidecar dataset edited and saved, the model store, settings, and payload
 * validation. Jobs run in real worker threads.
 */
import { mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeBackend, initBackend } from '../../src-main/engine/backend.ts';
import type { CaptionItem, JobEvent } from '../../src-main/contract/types.ts';
import { AppServices } from '../../src-main/services/app-services.ts';
import { SIDECAR_SAMPLES, writeCorruptImage, writeFixedCaptionBundle, writeImage, writeSidecarDataset } from './fixtures.ts';

let root: string;
let services: AppServices;
const events: JobEvent[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-services-'));
  const builtin = path.join(root, 'builtin');
  await writeFixedCaptionBundle(path.join(builtin, 'default'), ['a', 'red', 'square'], 'Red square');
  // The shipped model records the data folder of the machine that trained it.
  const shippedJson = path.join(builtin, 'default', 'model.json');
  const shipped = JSON.parse(await readFile(shippedJson, 'utf8'));
  shipped.provenance = { ...shipped.provenance, dataset: '/home/builder/work/data/coco/captions.json' };
  await writeFile(shippedJson, JSON.stringify(shipped));
  services = await AppServices.create({
    mode: 'browser',
    dataDir: path.join(root, 'data'),
    cacheDir: path.join(root, 'cache'),
    builtinModelsDir: builtin,
    uploadDir: path.join(root, 'uploads'),
  });
  services.subscribe((e) => events.push(e));
});

afterAll(async () => {
  await services?.close();
  await rm(root, { recursive: true, force: true });
});

async function ok<T>(p: Promise<{ ok: true; value: T } | { ok: false; error: string; code: string }>): Promise<T> {
  const r = await p;
  if (!r.ok) throw new Error(`call failed: ${r.code}: ${r.error}`);
  return r.value;
}

describe('AppServices', () => {
  it('captions images in a worker, streaming one item per file, with an inline error for a corrupt one', async () => {
    const dir = path.join(root, 'drop');
    await writeImage(path.join(dir, 'one.png'), [200, 40, 40]);
    await writeImage(path.join(dir, 'sub', 'two.jpg'), [20, 40, 200], [250, 250, 250]);
    await writeCorruptImage(path.join(dir, 'broken.jpg'));
    await writeFile(path.join(dir, 'notes.txt'), 'not an image; skipped when a folder is expanded');
    const job = await ok(services.call('caption.start', { paths: [dir] }));
    expect(job.kind).toBe('caption');
    const done = await services.jobs.wait(job.id);
    expect(done.error ?? done.state).toBe("done");
    expect(done.result).toEqual({ kind: 'caption', captioned: 2, failed: 1 });
    const items = events.flatMap((e) => (e.type === 'caption' && e.jobId === job.id ? [e.item] : [])) as CaptionItem[];
    expect(items.map((i) => i.name).sort()).toEqual(['broken.jpg', 'one.png', 'two.jpg']);
    for (const item of items) {
      if (item.name === 'broken.jpg') {
        expect(item.ok).toBe(false);
        if (!item.ok) expect(item.error).toMatch(/corrupt|not an image|unsupported|truncated/i);
      } else {
        expect(item.ok).toBe(true);
        if (item.ok) {
          expect(item.caption).toBe('a red square');
          expect(item.modelId).toBe('default');
          // Up to five tags, none under 1 %.
          expect(item.tags.length).toBeGreaterThanOrEqual(1);
          expect(item.tags.length).toBeLessThanOrEqual(5);
          expect(item.tags.every((t) => t.probability >= 0.01)).toBe(true);
          expect(item.score).toBeLessThan(0);
          expect(item.score).toBeGreaterThan(-0.1);
        }
      }
    }
    // Captioning granted the UI access to the dropped folder, and to nothing else.
    await expect(services.media.resolveImage(path.join(dir, 'one.png'))).resolves.toContain('one.png');
    await expect(services.media.resolveImage(path.join(dir, '..', 'builtin', 'default', 'model.json'))).rejects.toThrow(/not an image|outside/);
  });

  it('captions pictures a link in the folder leads to, and lets the UI show them; only those beyond the folder', async () => {
    const dir = path.join(root, 'linked');
    const elsewhere = path.join(root, 'elsewhere');
    await writeImage(path.join(elsewhere, 'far.png'), [200, 40, 40]);
    await writeImage(path.join(elsewhere, 'unlinked.png'), [200, 40, 40]);
    await writeImage(path.join(dir, 'near.png'), [200, 40, 40]);
    await symlink(path.join(elsewhere, 'far.png'), path.join(dir, 'far-link.png'));
    const job = await ok(services.call('caption.start', { paths: [dir] }));
    expect((await services.jobs.wait(job.id)).result).toEqual({ kind: 'caption', captioned: 2, failed: 0 });
    await expect(services.media.resolveImage(path.join(dir, 'far-link.png'))).resolves.toBe(await realpath(path.join(elsewhere, 'far.png')));
    await expect(services.media.resolveImage(path.join(elsewhere, 'unlinked.png'))).rejects.toThrow(/outside the folders opened/);
  });

  it('rejects a malformed payload with a validation error naming the field', async () => {
    const r = await services.call('caption.start', { paths: 'not-a-list' });
    expect(r).toMatchObject({ ok: false, code: 'validation' });
    if (!r.ok) expect(r.error).toMatch(/^caption\.start: invalid request — paths:/);
    const extra = await services.call('settings.update', { beamSize: 3, evil: true });
    expect(extra).toMatchObject({ ok: false, code: 'validation' });
  });

  it('opens a sidecar dataset, saves an edit back to its caption file, and reports stats', async () => {
    const dir = await writeSidecarDataset(path.join(root, 'ds'));
    const view = await ok(services.call('dataset.open', { path: dir }));
    expect(view.format).toBe('sidecar');
    expect(view.items).toHaveLength(SIDECAR_SAMPLES.length);
    expect(view.stats.images).toBe(SIDECAR_SAMPLES.length);
    expect(view.stats.lengthHistogram[3]).toBe(6); // six 3-word captions, two 4-word ones
    expect(view.stats.lengthHistogram[4]).toBe(2);
    const red = view.items.find((i) => i.id === 'red.png')!;
    expect(red.captions).toEqual(['a red square']);
    const saved = await ok(services.call('dataset.save', { datasetId: view.datasetId, changes: [{ id: 'red.png', captions: ['a crimson square', 'a red tile'] }] }));
    expect(saved.changed).toBe(1);
    expect(await readFile(path.join(dir, 'red.txt'), 'utf8')).toBe('a crimson square\na red tile\n');
    const reopened = await ok(services.call('dataset.open', { path: dir }));
    expect(reopened.items.find((i) => i.id === 'red.png')!.captions).toEqual(['a crimson square', 'a red tile']);
    const thumb = await services.thumbnails.get(await services.media.resolveImage(red.imagePath), 96);
    expect(thumb.mime).toBe('image/jpeg');
    expect(thumb.data.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
  });

  it('counts every problem of a dataset, not the lines that reach the UI (CLI stats gives the same total)', async () => {
    const dir = path.join(root, 'many-problems');
    await writeImage(path.join(dir, 'ok.png'), [200, 20, 20]);
    const rows = ['image,caption', 'ok.png,a red square'];
    for (let i = 0; i < 250; i++) rows.push(`missing-${i}.png,a picture that is not there`);
    await writeFile(path.join(dir, 'captions.csv'), rows.join('\n') + '\n');
    const view = await ok(services.call('dataset.open', { path: path.join(dir, 'captions.csv') }));
    expect(view.items).toHaveLength(1);
    expect(view.problemCount).toBe(250);
    expect(view.problems.length).toBeLessThanOrEqual(200);
    expect(view.problems.every((line) => line.includes('missing-'))).toBe(true);
  });

  it('lists, imports, exports and deletes models; the shipped one cannot be deleted', async () => {
    const list = await ok(services.call('models.list', {}));
    expect(list.map((m) => [m.id, m.builtin, m.name])).toEqual([['default', true, 'Red square']]);
    // Not the builder's folders: only the data's own name.
    expect(list[0]!.training.dataset).toBe('…/coco/captions.json');
    expect(list[0]!.metrics).toEqual({ bleu4: 0.5, ciderD: 1.25 });
    const elsewhere = await writeFixedCaptionBundle(path.join(root, 'outside', 'blue'), ['a', 'blue', 'square'], 'Blue square');
    const imported = await ok(services.call('models.import', { path: elsewhere }));
    expect(imported).toMatchObject({ id: 'blue-square', builtin: false, name: 'Blue square' });
    const exported = await ok(services.call('models.export', { id: 'blue-square', destPath: path.join(root, 'exported-model') }));
    expect(JSON.parse(await readFile(path.join(exported.path, 'model.json'), 'utf8')).name).toBe('Blue square');
    expect(await services.call('models.delete', { id: 'default' })).toMatchObject({ ok: false, code: 'conflict' });
    // Deleting the model in use falls back to the default, and says so.
    await ok(services.call('settings.update', { modelId: 'blue-square' }));
    await ok(services.call('models.delete', { id: 'blue-square' }));
    expect(events.filter((e) => e.type === 'settings').at(-1)).toMatchObject({ type: 'settings', settings: { modelId: null } });
    expect((await ok(services.call('models.list', {}))).map((m) => m.id)).toEqual(['default']);
    expect(events.some((e) => e.type === 'models')).toBe(true);
  });

  it('gives caption and export jobs the caption threads of Settings (one per core when unset)', async () => {
    const dir = path.join(root, 'threads');
    await writeImage(path.join(dir, 'one.png'), [200, 40, 40]);
    const start = vi.spyOn(services.jobs, 'start');
    try {
      const set = await ok(services.call('settings.update', { captionWorkers: 1 }));
      expect(set.captionWorkers).toBe(1);
      expect(JSON.parse(await readFile(path.join(root, 'data', 'settings.json'), 'utf8'))).toMatchObject({ captionWorkers: 1 });
      const caption = await ok(services.call('caption.start', { paths: [dir] }));
      const exported = await ok(services.call('export.start', { source: { path: dir }, format: 'csv', outPath: path.join(root, 'threads.csv') }));
      for (const job of [caption, exported]) expect((await services.jobs.wait(job.id)).state).toBe('done');
      expect(start.mock.calls.map(([spec]) => [spec.kind, 'workers' in spec.params ? spec.params.workers : 'unset'])).toEqual([
        ['caption', 1],
        ['export', 1],
      ]);
      await ok(services.call('settings.update', { captionWorkers: null }));
      const unset = await ok(services.call('caption.start', { paths: [dir] }));
      await services.jobs.wait(unset.id);
      expect('workers' in start.mock.calls[2]![0].params).toBe(false); // the runner takes one per core
      expect(await services.call('settings.update', { captionWorkers: 0 })).toMatchObject({ ok: false, code: 'validation' });
    } finally {
      start.mockRestore();
    }
  });

  it('keeps settings on disk and reports the backend the worker actually runs', async () => {
    const next = await ok(services.call('settings.update', { beamSize: 5, theme: 'dark' }));
    expect(next).toMatchObject({ beamSize: 5, theme: 'dark', backend: 'auto' });
    const stored = JSON.parse(await readFile(path.join(root, 'data', 'settings.json'), 'utf8'));
    expect(stored).toMatchObject({ beamSize: 5, theme: 'dark' });
    // Every window hears of the change.
    expect(events.filter((e) => e.type === 'settings').at(-1)).toEqual({ type: 'settings', settings: next });
    await services.jobs.warmUp();
    await vi.waitFor(() => expect(services.jobs.backend().active).not.toBeNull(), { timeout: 60_000 });
    const info = await ok(services.call('app.info', {}));
    // The worker picks by the same rules as this process would: the fastest backend that starts here.
    const here = await initBackend();
    expect(info.backend).toMatchObject({ requested: 'auto', active: here.backend, description: describeBackend(here), error: null });
    expect(await services.call('settings.update', { modelId: 'no-such-model' })).toMatchObject({ ok: false, code: 'not-found' });
  });
});
