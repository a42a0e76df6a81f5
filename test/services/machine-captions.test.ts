/**
 * Machine-written captions in a dataset: saved as ordinary captions in the dataset's own files, marked in a hidden
 * file beside it until accepted or edited; training and evaluation (loadDataset) see only the human references.
 * The item list travels in parts: dataset.open gives the first part and the total, dataset.items the rest.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../../src-main/data/dataset.ts';
import { machineMarksPath } from '../../src-main/data/machine-captions.ts';
import { FIRST_ITEMS } from '../../src-main/services/dataset-store.ts';
import type { AppServices } from '../../src-main/services/app-services.ts';
import type { ResponseOf } from '../../src-main/contract/api.ts';
import type { MethodName } from '../../src-main/contract/channels.ts';
import type { RequestOf } from '../../src-main/contract/schemas.ts';
import { servicesInTempDir, writeImage, writeSidecarDataset, SIDECAR_SAMPLES } from './fixtures.ts';

let env: Awaited<ReturnType<typeof servicesInTempDir>>;
let services: AppServices;
beforeAll(async () => {
  env = await servicesInTempDir('cs-machine-');
  services = env.services;
});
afterAll(async () => {
  await env?.close();
});

async function call<M extends MethodName>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
  const r = await services.call(method, request);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe('machine-written captions', () => {
  it('are saved into the dataset, marked beside it, left out of training until accepted, and unmarked once edited', async () => {
    const dir = await writeSidecarDataset(path.join(env.root, 'side'), SIDECAR_SAMPLES.slice(0, 2));
    await writeImage(path.join(dir, 'plain.png'), [100, 100, 100]);
    await writeImage(path.join(dir, 'other.png'), [10, 100, 100]);
    const view = await call('dataset.open', { path: dir });
    expect(view.items.find((i) => i.id === 'plain.png')?.captions).toEqual([]);

    // The model's captions go into the files like any edit; the marks into the hidden file.
    await call('dataset.save', {
      datasetId: view.datasetId,
      changes: [{ id: 'plain.png', captions: ['a grey square'] }, { id: 'other.png', captions: ['a teal square'] }, { id: 'red.png', captions: ['a red square', 'a machine red square'] }],
      machine: [{ id: 'plain.png', captions: ['a grey square'] }, { id: 'other.png', captions: ['a teal square'] }, { id: 'red.png', captions: ['a machine red square'] }],
    });
    expect(await readFile(path.join(dir, 'plain.txt'), 'utf8')).toBe('a grey square\n');
    expect(await readFile(path.join(dir, 'red.txt'), 'utf8')).toBe('a red square\na machine red square\n');
    const marksFile = machineMarksPath({ format: 'sidecar', source: dir });
    expect(path.basename(marksFile)).toBe('.caption-studio-machine.json');
    expect(JSON.parse(await readFile(marksFile, 'utf8')).items).toEqual({ 'other.png': ['a teal square'], 'plain.png': ['a grey square'], 'red.png': ['a machine red square'] });

    // Training, evaluation, stats and convert read the human references only; the editor reads both, marked.
    const human = await loadDataset(dir);
    expect(Object.fromEntries(human.items.map((i) => [i.id, i.captions]))).toEqual({ 'green.png': ['a green square'], 'other.png': [], 'plain.png': [], 'red.png': ['a red square'] });
    expect(human.problems).toEqual([]);
    const reopened = await call('dataset.open', { path: dir });
    expect(reopened.items.find((i) => i.id === 'red.png')).toMatchObject({ captions: ['a red square', 'a machine red square'], machine: ['a machine red square'] });
    expect(reopened.items.find((i) => i.id === 'green.png')?.machine).toBeUndefined();

    // Editing a machine caption by hand makes it the user's; accepting one (no marks sent) too.
    await call('dataset.save', { datasetId: reopened.datasetId, changes: [{ id: 'plain.png', captions: ['a grey square by hand'] }] });
    await call('dataset.save', { datasetId: reopened.datasetId, changes: [], machine: [{ id: 'red.png', captions: [] }] });
    expect(JSON.parse(await readFile(marksFile, 'utf8')).items).toEqual({ 'other.png': ['a teal square'] });
    expect((await loadDataset(dir)).items.find((i) => i.id === 'plain.png')?.captions).toEqual(['a grey square by hand']);
    // The last one accepted: the marks file goes away.
    await call('dataset.save', { datasetId: reopened.datasetId, changes: [], machine: [{ id: 'other.png', captions: [] }] });
    await expect(readFile(marksFile, 'utf8')).rejects.toThrow(/ENOENT/);
    expect((await loadDataset(dir)).items.find((i) => i.id === 'other.png')?.captions).toEqual(['a teal square']);
  });

  it('beside a CSV the marks file is hidden: the folder is still detected as that CSV', async () => {
    const dir = path.join(env.root, 'csv');
    await writeImage(path.join(dir, 'a.png'), [1, 2, 3]);
    await writeFile(path.join(dir, 'captions.csv'), 'image,caption\na.png,a hand caption\n');
    const view = await call('dataset.open', { path: dir });
    await call('dataset.save', { datasetId: view.datasetId, changes: [{ id: 'a.png', captions: ['a hand caption', 'a model caption'] }], machine: [{ id: 'a.png', captions: ['a model caption'] }] });
    expect(machineMarksPath({ format: 'csv', source: path.join(dir, 'captions.csv') })).toBe(path.join(dir, '.captions.csv.machine.json'));
    const again = await loadDataset(dir);
    expect(again.format).toBe('csv');
    expect(again.items[0]?.captions).toEqual(['a hand caption']);
    expect((await loadDataset(dir, { includeMachineCaptions: true })).items[0]?.captions).toEqual(['a hand caption', 'a model caption']);
  });

  it('opens a large folder with the first part of its items and the total; dataset.items gives the rest in order', async () => {
    const dir = path.join(env.root, 'many');
    const n = FIRST_ITEMS + 150;
    await writeImage(path.join(dir, 'seed.png'), [9, 9, 9]);
    const { copyFile } = await import('node:fs/promises');
    await Promise.all(Array.from({ length: n - 1 }, (_, i) => copyFile(path.join(dir, 'seed.png'), path.join(dir, `img${String(i).padStart(5, '0')}.png`))));
    const view = await call('dataset.open', { path: dir });
    expect(view.total).toBe(n);
    expect(view.items).toHaveLength(FIRST_ITEMS);
    const rest = await call('dataset.items', { datasetId: view.datasetId, offset: view.items.length, limit: 100_000 });
    expect(rest.items).toHaveLength(n - FIRST_ITEMS);
    expect([...view.items, ...rest.items].map((i) => i.id)).toEqual((await loadDataset(dir)).items.map((i) => i.id));
  });
});
