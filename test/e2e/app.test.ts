/**
 * End to end in real Chromium against the browser mode, on generated images and datasets: drop files → captions
 * (a corrupt one fails inline), edit a CSV dataset with undo/redo and save it back in its own format, train a
 * tiny model and see it charted and listed, export a CSV and check its contents. A screenshot of every view is
 * written to test-artifacts/.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';
import { SIDECAR_SAMPLES, writeCorruptImage, writeImage, writeSidecarDataset } from '../services/fixtures.ts';

let h: Harness;
let page: Page;

beforeAll(async () => {
  h = await startHarness('app');
  page = h.page;
});
afterAll(async () => {
  await h?.close();
});

/** Drops files on the window the way a user's drag from the file manager does (File objects, no paths). */
async function dropFiles(files: { name: string; file: string; mime: string }[]): Promise<void> {
  const payload = await Promise.all(files.map(async (f) => ({ name: f.name, mime: f.mime, base64: (await readFile(f.file)).toString('base64') })));
  const dataTransfer = await page.evaluateHandle((list) => {
    const dt = new DataTransfer();
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.base64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name, { type: f.mime }));
    }
    return dt;
  }, payload);
  for (const type of ['dragenter', 'dragover', 'drop']) await page.dispatchEvent('main', type, { dataTransfer });
}

/** expect.poll with room for a busy 2-core machine. */
function poll<T>(fn: () => T | Promise<T>, timeout = 20_000) {
  return expect.poll(fn, { timeout, interval: 100 });
}

async function view(name: string): Promise<void> {
  await page.click(`[data-testid=nav-${name}]`);
}

/** Opens a dataset file or folder in the Datasets view and waits until its `images` images are listed. */
async function openInDatasets(target: string, images: number): Promise<void> {
  await view('datasets');
  await page.fill('#dataset-path', target);
  await page.click('[data-testid=dataset-open]');
  await poll(() => page.locator('[data-testid=dataset-count]').textContent(), 20_000).toBe(`${images} of ${images}`);
}

/** Opens Train on a new sidecar dataset of the eight colour squares and sets a tiny model's options. */
async function fillTrainForm(folder: string, name: string, epochs: number): Promise<void> {
  const dir = await writeSidecarDataset(path.join(h.root, folder));
  await view('train');
  await page.fill('#train-dataset', dir);
  await poll(() => page.locator('[data-testid=train-dataset-summary]').textContent(), 20_000).toContain('8 images');
  await page.fill('[data-testid=train-name]', name);
  await page.fill('[data-testid=train-epochs]', String(epochs));
  await page.fill('[data-testid=train-batch]', '4');
  await page.fill('[data-testid=train-hidden]', '16');
  await page.fill('[data-testid=train-embed]', '16');
}

describe('Caption Studio in the browser', () => {
  it('captions dropped images; a corrupt file shows its error inline while the others caption', async () => {
    const dir = path.join(h.root, 'drop');
    const red = await writeImage(path.join(dir, 'red.png'), [220, 30, 30]);
    const sky = await writeImage(path.join(dir, 'sky.jpg'), [40, 90, 230], [240, 240, 255]);
    const broken = await writeCorruptImage(path.join(dir, 'broken.jpg'));
    await dropFiles([
      { name: 'red.png', file: red, mime: 'image/png' },
      { name: 'broken.jpg', file: broken, mime: 'image/jpeg' },
      { name: 'sky.jpg', file: sky, mime: 'image/jpeg' },
    ]);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=caption-card]').length === 3, null, { timeout: 60_000 });
    const good = page.locator('[data-testid=caption-card]:not(.failed)');
    await poll(() => good.count()).toBe(2);
    for (const name of ['red.png', 'sky.jpg']) {
      await poll(() => page.locator(`[data-testid=caption-card][data-name="${name}"] [data-testid=caption-text]`).inputValue()).toBe('a red square');
    }
    const error = page.locator('[data-testid=caption-card][data-name="broken.jpg"] [data-testid=caption-error]');
    await poll(() => error.textContent()).toMatch(/corrupt|not an image|unsupported|truncated/i);
    expect(await page.locator('[data-testid=caption-summary]').textContent()).toContain('2 captioned · 1 failed');
    // The thumbnails really load through the guarded image route.
    await page.waitForFunction(() => [...document.querySelectorAll<HTMLImageElement>('[data-testid=caption-card] img')].every((img) => img.complete && img.naturalWidth > 0));
    await h.screenshot('01-caption');
  });

  it('saves the Caption view\'s captions as edited: caption files beside local images, a CSV, and they survive a reload', async () => {
    const dir = path.join(h.root, 'local-caps');
    await writeImage(path.join(dir, 'green.png'), [30, 200, 40]);
    await writeImage(path.join(dir, 'blue.png'), [30, 40, 220]);
    await writeFile(path.join(dir, 'blue.txt'), 'a hand-written blue caption\n');
    const before = await page.locator('[data-testid=caption-card]').count();
    await page.click('[data-testid=open-folder]');
    await page.fill('#picker-path', dir);
    await page.press('#picker-path', 'Enter');
    await poll(() => page.locator('.picker .entry').count()).toBe(3);
    await page.click('.picker footer button.primary');
    await poll(() => page.locator('[data-testid=caption-card]').count(), 60_000).toBe(before + 2);
    const green = page.locator('[data-testid=caption-card][data-name="green.png"] [data-testid=caption-text]');
    await poll(() => green.inputValue()).toBe('a red square');
    await green.fill('a green square edited by hand');

    // Caption files: the uploaded copies are skipped, the existing blue.txt is replaced only after asking.
    const asked: string[] = [];
    page.once('dialog', (d) => {
      asked.push(d.message());
      void d.accept();
    });
    await page.click('[data-testid=caption-save-sidecar]');
    await poll(() => readFile(path.join(dir, 'green.txt'), 'utf8').catch(() => '')).toBe('a green square edited by hand\n');
    await poll(() => readFile(path.join(dir, 'blue.txt'), 'utf8')).toBe('a red square\n');
    expect(asked[0]).toMatch(/1 image already has a caption file/);
    const uploaded = await readdir(h.services.uploads.dir, { recursive: true });
    expect(uploaded.filter((f) => f.endsWith('.txt'))).toEqual([]);

    // A CSV of every caption shown, through the save picker.
    await page.click('[data-testid=caption-save-csv]');
    await page.fill('#picker-path', h.root);
    await page.press('#picker-path', 'Enter');
    await page.fill('.picker footer input[type=text]', 'view-captions.csv');
    await page.click('.picker footer button.primary');
    const csvFile = path.join(h.root, 'view-captions.csv');
    await poll(() => readFile(csvFile, 'utf8').catch(() => '')).toContain('a green square edited by hand');
    const rows = parse(await readFile(csvFile, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(['path', 'caption', 'score', 'model']);
    expect(rows).toHaveLength(before - 1 + 2); // every captioned card (the corrupt file has none)

    // A reload shows the same cards, with the edit (once the view has written them to IndexedDB).
    const stored = () =>
      page.evaluate(
        () =>
          new Promise<string>((resolve) => {
            const open = indexedDB.open('keyval-store');
            open.onerror = () => resolve('');
            open.onsuccess = () => {
              const get = open.result.transaction('keyval', 'readonly').objectStore('keyval').get('caption-studio.caption-cards');
              get.onerror = () => resolve('');
              get.onsuccess = () => resolve(JSON.stringify(get.result ?? []));
            };
          }),
      );
    await poll(stored).toContain('a green square edited by hand');
    await page.reload();
    await page.waitForSelector('[data-testid=nav-caption]');
    await poll(() => page.locator('[data-testid=caption-card]').count()).toBe(before + 2);
    await poll(() => page.locator('[data-testid=caption-card][data-name="green.png"] [data-testid=caption-text]').inputValue()).toBe('a green square edited by hand');
  });

  let csvPath = '';
  it('opens a CSV dataset, edits a caption with undo and redo, saves it back as CSV, and reloads it', async () => {
    const dir = path.join(h.root, 'csv-dataset');
    for (const s of SIDECAR_SAMPLES.slice(0, 5)) await writeImage(path.join(dir, 'img', s.name), s.rgb);
    csvPath = path.join(dir, 'captions.csv');
    await writeFile(csvPath, 'image,caption\n' + SIDECAR_SAMPLES.slice(0, 5).map((s) => `img/${s.name},${s.caption}`).join('\n') + '\n');

    await view('datasets');
    await page.fill('#dataset-path', csvPath);
    await page.click('[data-testid=dataset-open]');
    await poll(() => page.locator('[data-testid=dataset-count]').textContent(), 20_000).toBe('5 of 5');
    // Click a tile, then arrow keys: the grid keeps the keyboard focus and the selection moves.
    await page.locator('.tile').first().click();
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate(() => [document.activeElement?.getAttribute('role'), document.activeElement?.getAttribute('aria-activedescendant')])).toEqual(['listbox', 'grid-cell-1']);
    await page.fill('[data-testid=dataset-search]', 'green');
    await poll(() => page.locator('[data-testid=dataset-count]').textContent()).toBe('1 of 5');
    await page.locator('.tile').first().click();
    const box = page.locator('[data-testid=reference-caption]').first();
    await poll(() => box.inputValue()).toBe('a green square');
    await box.fill('a bright green tile');
    await box.blur();
    await poll(() => page.locator('[data-testid=dirty-count]').textContent()).toBe('1 unsaved');
    // Leaving the page now would lose the edit: the browser is asked to confirm.
    const leavingAsks = () => page.evaluate(() => {
      const e = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(e);
      return e.defaultPrevented;
    });
    expect(await leavingAsks()).toBe(true);
    await page.click('[data-testid=undo]');
    await poll(() => box.inputValue()).toBe('a green square');
    await poll(() => page.locator('[data-testid=dirty-count]').textContent()).toBe('All saved');
    await page.click('[data-testid=redo]');
    await poll(() => box.inputValue()).toBe('a bright green tile');
    await h.screenshot('02-datasets-edit');
    await page.click('[data-testid=dataset-save]');
    await poll(() => page.locator('[data-testid=dirty-count]').textContent()).toBe('All saved');
    expect(await leavingAsks()).toBe(false);

    const rows = parse(await readFile(csvPath, 'utf8'), { columns: true }) as { image: string; caption: string }[];
    expect(rows).toHaveLength(5);
    expect(rows.find((r) => r.image === 'img/green.png')!.caption).toBe('a bright green tile');
    expect(rows.find((r) => r.image === 'img/red.png')!.caption).toBe('a red square');

    // The file changes on disk behind the app's back: Reload reads it again and keeps the search.
    const count = page.locator('[data-testid=dataset-count]');
    await page.fill('[data-testid=dataset-search]', 'bright');
    await poll(() => count.textContent()).toBe('1 of 5');
    await writeFile(csvPath, (await readFile(csvPath, 'utf8')).replace('img/red.png,a red square', 'img/red.png,a bright red square'));
    await page.click('[data-testid=dataset-reload]');
    await poll(() => count.textContent()).toBe('2 of 5');
    expect(await page.inputValue('[data-testid=dataset-search]')).toBe('bright');
    await page.fill('[data-testid=dataset-search]', '');
    await page.click('[data-testid=stats-tab]');
    await poll(() => page.locator('[data-testid=dataset-stats]').textContent()).toContain('Images5');
    await h.screenshot('03-datasets-stats');
  });

  it('batch-edits a sidecar dataset: find/replace with a preview, one undo step, then a prefix; saved to the files', async () => {
    const dir = await writeSidecarDataset(path.join(h.root, 'batch'));
    await openInDatasets(dir, 8);
    await page.click('[data-testid=batch-tab]');
    await page.fill('[data-testid=batch-find]', 'square');
    await page.fill('[data-testid=batch-replace]', 'tile');
    await poll(() => page.locator('[data-testid=batch-preview]').textContent()).toContain('8 captions change in 8 images');
    // A regex that would match empty text is refused with its reason, before anything changes.
    await page.check('[data-testid=batch-regex]');
    await page.fill('[data-testid=batch-find]', 'x*');
    await poll(() => page.locator('[data-testid=batch-preview]').textContent()).toContain('matches empty text');
    expect(await page.isDisabled('[data-testid=batch-apply]')).toBe(true);
    await page.fill('[data-testid=batch-find]', '\\b(dark )?(red|blue) square');
    await page.fill('[data-testid=batch-replace]', '$2 tile');
    await poll(() => page.locator('[data-testid=batch-preview]').textContent()).toContain('4 captions change in 4 images');
    await page.click('[data-testid=batch-apply]');
    await poll(() => page.locator('[data-testid=dirty-count]').textContent()).toBe('4 unsaved');
    await page.click('[data-testid=undo]');
    await poll(() => page.locator('[data-testid=dirty-count]').textContent()).toBe('All saved');
    await page.click('[data-testid=redo]');
    await poll(() => page.locator('[data-testid=dirty-count]').textContent()).toBe('4 unsaved');
    // A prefix over the images the search shows.
    await page.fill('[data-testid=dataset-search]', 'tile');
    await poll(() => page.locator('[data-testid=dataset-count]').textContent()).toBe('4 of 8');
    await page.selectOption('[data-testid=batch-kind]', 'prefix');
    await page.fill('[data-testid=batch-text]', 'photo of');
    await page.selectOption('[data-testid=batch-scope]', 'shown');
    await poll(() => page.locator('[data-testid=batch-preview]').textContent()).toContain('4 captions change in 4 images');
    await page.click('[data-testid=batch-apply]');
    await h.screenshot('02b-datasets-batch');
    await page.keyboard.press('Control+s');
    await poll(() => page.locator('[data-testid=dirty-count]').textContent()).toBe('All saved');
    const caption = async (name: string) => (await readFile(path.join(dir, `${name}.txt`), 'utf8')).trim();
    expect(await caption('red')).toBe('photo of a red tile');
    expect(await caption('dark-blue')).toBe('photo of a blue tile');
    expect(await caption('green')).toBe('a green square');
    await page.fill('[data-testid=dataset-search]', '');
  });

  it('lists the words of a dataset with counts, marks the rare ones, and filters the grid by a clicked word', async () => {
    const dir = await writeSidecarDataset(path.join(h.root, 'words'));
    await openInDatasets(dir, 8);
    await page.click('[data-testid=words-tab]');
    const entry = (w: string) => page.locator(`[data-testid=word-entry][data-word="${w}"]`);
    await poll(() => entry('square').textContent()).toContain('8');
    expect(await entry('red').textContent()).toContain('2');
    // 'square' (8 uses) is in a trained model's vocabulary, 'red' (2) is below training's minimum count of 5.
    expect(await entry('square').getAttribute('class')).not.toContain('rare');
    expect(await entry('red').getAttribute('class')).toContain('rare');
    await entry('red').click();
    await poll(() => page.locator('[data-testid=dataset-count]').textContent()).toBe('2 of 8');
    expect((await page.locator('.tile-name').allTextContents()).sort()).toEqual(['dark-red.png', 'red.png']);
    await h.screenshot('02c-datasets-words');
    await page.click('[data-testid=word-chip]');
    await poll(() => page.locator('[data-testid=dataset-count]').textContent()).toBe('8 of 8');
  });

  it('looks closely at an image: zoom and pan from the keyboard and the wheel, next/previous also while editing, tile sizes', async () => {
    const dir = await writeSidecarDataset(path.join(h.root, 'closely'));
    await openInDatasets(dir, 8);
    await page.click('[role=tab]:has-text("Captions")');
    await page.locator('.tile').first().click();
    const first = (await page.locator('.tile-name').first().textContent())!;
    await page.keyboard.press('Space');
    const viewer = page.locator('[data-testid=image-viewer]');
    await poll(() => viewer.count()).toBe(1);
    expect(await viewer.textContent()).toContain(first);
    await page.waitForFunction(() => (document.querySelector('[data-testid=image-viewer] img') as HTMLImageElement | null)?.naturalWidth! > 0);
    await page.keyboard.press('+');
    await poll(() => viewer.getAttribute('data-scale')).toBe('1.25');
    await page.mouse.move(700, 450);
    await page.mouse.wheel(0, -200);
    await poll(async () => Number(await viewer.getAttribute('data-scale'))).toBeGreaterThan(1.25);
    await page.keyboard.press('0');
    await poll(() => viewer.getAttribute('data-scale')).toBe('1.00');
    // At fit, → goes to the next image, and the caption panel follows.
    await page.keyboard.press('ArrowRight');
    const second = (await page.locator('.tile-name').nth(1).textContent())!;
    await poll(() => viewer.textContent()).toContain(second);
    const box = page.locator('[data-testid=reference-caption]').first();
    const secondCaption = SIDECAR_SAMPLES.find((s) => s.name === second)!.caption;
    await poll(() => box.inputValue()).toBe(secondCaption);
    await h.screenshot('02d-datasets-viewer');
    // Alt+↓ moves on while the caption is being edited.
    await box.focus();
    await page.keyboard.press('Alt+ArrowDown');
    const third = (await page.locator('.tile-name').nth(2).textContent())!;
    await poll(() => box.inputValue()).toBe(SIDECAR_SAMPLES.find((s) => s.name === third)!.caption);
    await box.blur();
    await page.keyboard.press('Escape');
    await poll(() => viewer.count()).toBe(0);
    const width = async () => (await page.locator('.tile').first().boundingBox())!.width;
    const medium = await width();
    await page.selectOption('[data-testid=tile-size]', 'large');
    await poll(width).toBeGreaterThan(medium);
    await page.selectOption('[data-testid=tile-size]', 'medium');
  });

  it('trains a tiny model: the charts fill in and the model appears in the picker', async () => {
    await fillTrainForm('colours', 'Tiny colours', 2);
    await page.selectOption('[data-testid=train-schedule]', 'linear');
    await page.click('[data-testid=train-start]');
    // The run's progress comes into view (the Start button sits at the bottom of a long form).
    await poll(async () => {
      const box = await page.locator('[data-testid=train-live]').boundingBox();
      return box !== null && box.y >= 0 && box.y < 860 / 2;
    }).toBe(true);
    await poll(() => page.locator('[data-testid=train-state]').textContent(), 120_000).toBe('done');
    expect(await page.locator('[data-testid=train-epoch-summary]').textContent()).toMatch(/^Epoch 2\/2: train loss \d/);
    const job = Object.values(h.services.jobs.list()).find((j) => j.kind === 'train')!;
    expect(job.epochs).toHaveLength(2);
    expect(job.lossCurve.length).toBeGreaterThanOrEqual(2);
    await poll(() => page.locator('[data-testid=model-picker] option').allTextContents()).toContain('Tiny colours');
    await poll(() => page.locator('[data-testid=train-done]').textContent()).toContain('Tiny colours');
    expect(await page.locator('[data-testid=train-done]').textContent()).toMatch(/It keeps epoch [12] of 2, the best on the validation images/);
    await h.screenshot('04-train');
    await view('models');
    await poll(() => page.locator('[data-testid=model-card]').count()).toBe(2);
    await h.screenshot('05-models');
  });

  it('a cancelled run can be resumed from its checkpoint after the page is reloaded', async () => {
    // Tiny epochs take a moment each: the run is held (paused) as soon as its first epoch is reported.
    const hold = h.services.subscribe((e) => {
      if (e.type === 'epoch') h.services.jobs.pause(e.jobId);
    });
    await fillTrainForm('colours-resume', 'Resumable', 8);
    await page.click('[data-testid=train-start]');
    await poll(() => page.locator('[data-testid=train-state]').textContent(), 120_000).toBe('paused');
    hold();
    await page.click('[data-testid=train-cancel]');
    await poll(() => page.locator('[data-testid=train-state]').textContent(), 60_000).toBe('cancelled');

    await page.reload();
    await page.waitForSelector('[data-testid="nav-caption"]');
    await view('train');
    await poll(() => page.locator('[data-testid=train-state]').textContent()).toBe('cancelled');
    // The form shows the run's own settings again, not the defaults.
    expect([await page.inputValue('[data-testid=train-name]'), await page.inputValue('[data-testid=train-epochs]'), await page.inputValue('[data-testid=train-hidden]')]).toEqual(['Resumable', '8', '16']);
    await page.click('[data-testid=train-resume-run]');
    await poll(() => page.locator('[data-testid=train-state]').textContent(), 120_000).toBe('done');
    expect(await page.locator('[data-testid=train-epoch-summary]').textContent()).toMatch(/^Epoch \d\/8: /);
    const [resumed, cancelled] = h.services.jobs.list().filter((j) => j.request?.name === 'Resumable');
    expect([resumed, cancelled].map((j) => [j?.state, j?.request?.runId, j?.request?.resume])).toEqual([
      ['done', 'resumable', true],
      ['cancelled', 'resumable', false],
    ]);
    // It went on from the checkpoint, not from the start.
    expect(resumed!.epochs[0]!.epoch).toBe(cancelled!.epochs.length + 1);
    await poll(() => page.locator('[data-testid=model-picker] option').allTextContents()).toContain('Resumable');

    // A second run under the same name is a model of its own; the pickers tell the two apart by id.
    await fillTrainForm('colours-again', 'Resumable', 1);
    await page.click('[data-testid=train-start]');
    await poll(() => page.locator('[data-testid=model-picker] option').allTextContents(), 120_000).toEqual(
      expect.arrayContaining(['Resumable (resumable)', 'Resumable (resumable-2)']),
    );
  });

  it('exports a CSV of a folder with the chosen model, and its rows are right', async () => {
    const dir = await writeSidecarDataset(path.join(h.root, 'to-export'), SIDECAR_SAMPLES.slice(0, 3));
    const out = path.join(h.root, 'out', 'captions.csv');
    await view('export');
    await page.fill('#export-source', dir);
    await page.fill('#export-out', out);
    await page.selectOption('[data-testid=export-model]', 'default');
    await page.click('[data-testid=export-start]');
    await poll(() => page.locator('[data-testid=export-state]').textContent(), 60_000).toBe('done');
    const rows = parse(await readFile(out, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual(['path', 'caption', 'score', 'model']);
    expect(rows.map((r) => r.path).sort()).toEqual(['blue.png', 'green.png', 'red.png'].map((f) => path.join(dir, f)));
    for (const row of rows) {
      expect(row.caption).toBe('a red square');
      expect(row.model).toBe('Red square (test model)');
      expect(Number(row.score)).toBeLessThan(0);
      expect(Number(row.score)).toBeGreaterThan(-0.1);
    }
    await poll(() => page.locator('[data-testid=export-preview] tbody tr').count()).toBe(3);
    await h.screenshot('06-export');

    // A second export, as caption files: its panel shows no table from the first one.
    await page.selectOption('[data-testid=export-format]', 'sidecar');
    await page.click('[data-testid=export-start]');
    await poll(() => page.locator('[data-testid=export-done]').textContent(), 60_000).toContain('(sidecar)');
    expect(await page.locator('[data-testid=export-preview]').count()).toBe(0);
    // The folder's own caption files were kept, and the panel names each one with the reason.
    expect(await page.locator('[data-testid=export-done]').textContent()).toContain('3 skipped');
    await page.click('[data-testid=export-problems] summary');
    expect((await page.locator('[data-testid=export-problems] li').allTextContents()).sort()).toEqual(
      ['blue', 'green', 'red'].map((n) => `${path.join(dir, `${n}.txt`)}: caption file exists (overwrite not set)`),
    );
  });

  it('an export with the suggested file name lands beside a sidecar folder, and the folder still reads its own captions', async () => {
    const dir = await writeSidecarDataset(path.join(h.root, 'hand-written'), SIDECAR_SAMPLES.slice(0, 3));
    await view('export');
    await page.selectOption('[data-testid=export-format]', 'csv');
    await page.fill('#export-out', '');
    await page.fill('#export-source', dir);
    await poll(() => page.inputValue('#export-out')).toBe(`${dir}-captions.csv`);
    await page.selectOption('[data-testid=export-model]', 'default');
    await page.click('[data-testid=export-start]');
    await poll(() => page.locator('[data-testid=export-done]').textContent(), 60_000).toContain(`${dir}-captions.csv`);
    await openInDatasets(dir, 3);
    const reopened = await h.services.call('dataset.open', { path: dir });
    expect(reopened.ok && reopened.value.format).toBe('sidecar');
    expect(reopened.ok && reopened.value.items.map((i) => i.captions[0]).sort()).toEqual(SIDECAR_SAMPLES.slice(0, 3).map((s) => s.caption).sort());
  });

  it('converts a dataset\'s own captions to COCO JSON from the Export view, without a model', async () => {
    const dir = await writeSidecarDataset(path.join(h.root, 'to-convert'), SIDECAR_SAMPLES.slice(0, 4));
    await view('export');
    await page.fill('#export-source', dir);
    await page.selectOption('[data-testid=convert-to]', 'coco');
    await poll(() => page.inputValue('#convert-out')).toBe(`${dir}-captions.coco.json`);
    await page.click('[data-testid=convert-start]');
    await poll(() => page.locator('[data-testid=convert-done]').textContent()).toContain('4 captions of 4 images');
    const coco = JSON.parse(await readFile(`${dir}-captions.coco.json`, 'utf8')) as { images: { id: number; file_name: string }[]; annotations: { image_id: number; caption: string }[] };
    const byFile = Object.fromEntries(coco.images.map((img) => [img.file_name, coco.annotations.filter((a) => a.image_id === img.id).map((a) => a.caption)]));
    expect(byFile).toEqual(Object.fromEntries(SIDECAR_SAMPLES.slice(0, 4).map((s) => [`to-convert/${s.name}`, [s.caption]])));
  });

  it('at 900×700 the sidebar collapses to icons and no view scrolls sideways or clips a card', async () => {
    await page.setViewportSize({ width: 900, height: 700 });
    try {
      const sidebar = await page.locator('.sidebar').boundingBox();
      expect(sidebar!.width).toBeLessThan(80);
      // Each view's entry keeps its name for screen readers and as a tooltip.
      expect(await page.getByRole('button', { name: 'Datasets' }).count()).toBe(1);
      for (const name of ['caption', 'datasets', 'train', 'export', 'models', 'settings']) {
        await view(name);
        await page.waitForTimeout(200);
        expect(await page.evaluate(() => document.documentElement.scrollWidth - innerWidth), name).toBeLessThanOrEqual(0);
      }
      await view('caption');
      const clipped = await page.evaluate(() =>
        [...document.querySelectorAll('[data-testid=caption-card]')].flatMap((card) => {
          const edge = card.getBoundingClientRect().right;
          return [...card.querySelectorAll('.alt span, .caption, .tags .badge')].filter((el) => el.getBoundingClientRect().right > edge + 0.5).map((el) => el.textContent);
        }),
      );
      expect(clipped).toEqual([]);
      // The intro sentence is not squeezed into a column beside the buttons (one word per line).
      const intro = await page.locator('.pane:not([hidden]) .view-header p').first().boundingBox();
      expect(intro!.height).toBeLessThan(60);
    } finally {
      await page.setViewportSize({ width: 1360, height: 860 });
    }
  });

  it('an idle page asks the backend nothing over and over (the Train view plans once per change of its form)', async () => {
    await view('train');
    await page.waitForTimeout(1500);
    const calls: string[] = [];
    const count = (r: { url(): string }) => void calls.push(r.url());
    page.on('request', count);
    await page.waitForTimeout(3000);
    page.off('request', count);
    expect(calls.filter((u) => u.includes('/api/call/'))).toEqual([]);
  });

  it('lists every shortcut behind ?, and the view shortcuts work from the keyboard', async () => {
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Alt+2');
    await poll(() => page.locator('[data-testid=nav-datasets]').getAttribute('aria-current')).toBe('page');
    await page.keyboard.press('Alt+5');
    await poll(() => page.locator('[data-testid=nav-models]').getAttribute('aria-current')).toBe('page');
    await page.keyboard.press('?');
    const help = page.locator('[data-testid=shortcut-help]');
    await poll(() => help.isVisible()).toBe(true);
    const text = (await help.textContent())!;
    for (const what of ['Caption, Datasets, Train, Export, Models, Settings', 'Save to the dataset’s files', 'Look closely', 'Fit the image', 'Choose images to caption']) expect(text).toContain(what);
    await h.screenshot('10-shortcuts');
    await page.keyboard.press('Escape');
    await poll(() => help.isVisible()).toBe(false);
  });

  it('shows the running backend in Settings and follows the theme', async () => {
    await view('settings');
    await poll(() => h.services.jobs.backend().active !== null, 60_000).toBe(true);
    await poll(() => page.locator('[data-testid=backend-status]').textContent()).toContain(h.services.jobs.backend().description!);
    // Only usable backends can be chosen; the others say why (whatever this machine has installed).
    const listing = await h.services.call('backends.list', {});
    if (!listing.ok) throw new Error(listing.error);
    const settings = await h.services.call('settings.get', {});
    if (!settings.ok) throw new Error(settings.error);
    const current: string = settings.value.backend;
    await poll(() => page.locator('[data-testid=backend-list] tr').count()).toBe(listing.value.length);
    for (const b of listing.value) {
      if (b.backend === current) continue;
      const radio = page.locator(`[data-testid=backend-${b.backend}]`);
      if (b.usable === 'no') {
        expect(await radio.isDisabled(), b.backend).toBe(true);
        expect(await page.locator(`[data-testid=backend-why-${b.backend}]`).textContent()).toBe(`Not usable here: ${b.reason}`);
      } else {
        expect(await radio.isDisabled(), b.backend).toBe(false);
      }
    }
    expect(listing.value.some((b) => b.usable === 'yes')).toBe(true);
    await h.screenshot('07-settings');
    await page.click('[data-testid=theme-dark]');
    await poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await h.screenshot('08-settings-dark');
    await view('datasets');
    await h.screenshot('09-datasets-dark');
  });

  it('ran every view under the CSP without inline styles (style-src \'self\'): no violation reported', () => {
    expect(h.problems.filter((p) => /Content Security Policy|Refused to/i.test(p))).toEqual([]);
  });
});
