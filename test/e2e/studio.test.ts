/**
 * The dataset studio's "done when", end to end in real Chromium and from the keyboard only: open a 2,000-image
 * folder (a quarter with caption files), caption every image without a caption with the default model, replace a
 * word in every caption, undo that, accept the machine-written captions, save — and the files on disk say so.
 * And the Caption view with 5,000 cards: only the cards in view are in the page.
 *
 * Size: the full 2,000 images the issue names. The harness's default model is the fixed-caption test bundle on the
 * real MobileNet encoder, so the 1,500 images are decoded, resized and encoded for real (distinct 16×16 images):
 * 127–143 s on the shared 2-core machine while other suites ran (≈ 11 images/s). The shipped model's beam search
 * would make it slower (the studio_caption bench line: 7–9.5 images/s, so ≈ 3 minutes), which is why the suite uses
 * the test bundle here and the bench times the real model.
 */
import { access, readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
let page: Page;

beforeAll(async () => {
  h = await startHarness('studio');
  page = h.page;
});
afterAll(async () => {
  await h?.close();
});

function poll<T>(fn: () => T | Promise<T>, timeout = 30_000) {
  return expect.poll(fn, { timeout, interval: 200 });
}

const IMAGES = 2000;
const fmt = (n: number): string => n.toLocaleString('en-US');
const CAPTIONED = IMAGES / 4;
const MACHINE = IMAGES - CAPTIONED;
const name = (i: number): string => `img${String(i).padStart(4, '0')}`;

/** `n` distinct small PNGs; every fourth has `name.txt` with a caption of its own. */
async function makeFolder(dir: string, n: number): Promise<void> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, async (_, k) => {
        const j = i + k;
        const rgb = { r: (j * 37) % 256, g: (j * 91) % 256, b: (j * 13) % 256 };
        await sharp({ create: { width: 16, height: 16, channels: 3, background: rgb } }).png().toFile(path.join(dir, `${name(j)}.png`));
        if (j % 4 === 0) await writeFile(path.join(dir, `${name(j)}.txt`), `a hand written square number ${j}\n`);
      }),
    );
  }
}

const dirty = () => page.locator('[data-testid=dirty-count]').textContent();

describe('the dataset studio from the keyboard', () => {
  it('captions the uncaptioned images of a 2,000-image folder with the default model, batch-edits, undoes, accepts and saves', async () => {
    const dir = path.join(h.root, 'two-thousand');
    await makeFolder(dir, IMAGES);

    // Alt+2: Datasets; the path box has the keyboard; Enter opens.
    await page.keyboard.press('Alt+2');
    await poll(() => page.evaluate(() => document.activeElement?.id)).toBe('dataset-path');
    await page.keyboard.type(dir);
    await page.keyboard.press('Enter');
    await poll(() => page.locator('[data-testid=dataset-count]').textContent()).toBe(`${fmt(IMAGES)} of ${fmt(IMAGES)}`);

    // M: the model panel, its Caption button focused; Enter captions the 1,500 images without a caption.
    await page.keyboard.press('m');
    await poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('machine-start');
    expect(await page.locator('[data-testid=machine-start]').textContent()).toContain(`Caption ${fmt(MACHINE)} images`);
    expect(await page.locator('[data-testid=machine-model] option:checked').textContent()).toContain('Red square (test model)');
    const started = Date.now();
    await page.keyboard.press('Enter');
    await poll(() => page.locator('[data-testid=machine-count]').textContent(), 600_000).toContain(`${fmt(MACHINE)} images have machine-written captions`);
    console.log(`studio e2e: ${MACHINE} images captioned through the UI in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(await dirty()).toBe(`${fmt(MACHINE)} unsaved`);

    // B: batch edits; Tab to Find and Replace with; Enter applies to every caption (one undo step).
    await page.keyboard.press('Escape');
    await page.keyboard.press('b');
    await poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('batch-kind');
    await page.keyboard.press('Tab');
    await page.keyboard.type('square');
    await page.keyboard.press('Tab');
    await page.keyboard.type('tile');
    await poll(() => page.locator('[data-testid=batch-preview]').textContent()).toContain(`${fmt(IMAGES)} captions change in ${fmt(IMAGES)} images`);
    await page.keyboard.press('Enter');
    await poll(dirty).toBe(`${fmt(IMAGES)} unsaved`);
    await page.keyboard.press('Control+z');
    await poll(dirty).toBe(`${fmt(MACHINE)} unsaved`);

    // Escape back to the grid; Ctrl+S saves: the model's captions are in the files, marked in the hidden file beside.
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+s');
    await poll(dirty, 60_000).toBe('All saved');
    expect(await readFile(path.join(dir, `${name(1)}.txt`), 'utf8')).toBe('a red square\n');
    const marks = JSON.parse(await readFile(path.join(dir, '.caption-studio-machine.json'), 'utf8')) as { items: Record<string, string[]> };
    expect(Object.keys(marks.items)).toHaveLength(MACHINE);
    expect(marks.items[`${name(1)}.png`]).toEqual(['a red square']);

    // Shift+A accepts every machine-written caption (one more change per image to save; M shows the count); Ctrl+S.
    await page.keyboard.press('Shift+A');
    await poll(dirty).toBe(`${fmt(MACHINE)} unsaved`);
    await page.keyboard.press('Shift+A');
    await page.keyboard.press('m');
    await poll(() => page.locator('[data-testid=machine-count]').textContent()).toContain('No machine-written caption waits');
    await page.keyboard.press('Control+s');
    await poll(dirty, 60_000).toBe('All saved');

    // On disk: a caption file for every image; the hand-written ones untouched; no machine marks left.
    const texts = (await readdir(dir)).filter((f) => f.endsWith('.txt'));
    expect(texts).toHaveLength(IMAGES);
    for (const i of [0, 4, IMAGES - 4]) expect(await readFile(path.join(dir, `${name(i)}.txt`), 'utf8')).toBe(`a hand written square number ${i}\n`);
    for (const i of [1, 2, 3, IMAGES - 1]) expect(await readFile(path.join(dir, `${name(i)}.txt`), 'utf8')).toBe('a red square\n');
    await expect(access(path.join(dir, '.caption-studio-machine.json'))).rejects.toThrow();
    await h.screenshot('07-datasets-machine');
  }, 900_000);

  it('keeps only the cards in view in the Caption view with 5,000 captioned images, and a card stays editable', async () => {
    await page.keyboard.press('Alt+1');
    const n = 5000;
    await page.evaluate(
      (count) =>
        new Promise<void>((resolve, reject) => {
          const cards = Array.from({ length: count }, (_, i) => ({
            key: `k${i}`, path: `/nowhere/card${i}.jpg`, name: `card${i}.jpg`, ok: true, text: `a caption of card ${i}`, original: `a caption of card ${i}`, score: -0.5,
            alternatives: [{ caption: `another caption of card ${i}`, score: -0.9 }], tags: [{ label: 'tabby, tabby cat', probability: 0.4 }], error: '', modelId: 'default', jobId: 'old',
          }));
          const open = indexedDB.open('keyval-store');
          open.onupgradeneeded = () => open.result.createObjectStore('keyval');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const tx = open.result.transaction('keyval', 'readwrite');
            tx.objectStore('keyval').put(cards, 'caption-studio.caption-cards');
            tx.oncomplete = () => resolve();
            tx.onerror = () => reject(tx.error);
          };
        }),
      n,
    );
    await page.reload();
    await page.waitForSelector('[data-testid=nav-caption]');
    await poll(() => page.locator('[data-testid=caption-summary]').textContent()).toContain('5000 captioned');
    const inPage = () => page.locator('[data-testid=caption-card]').count();
    expect(await inPage()).toBeGreaterThan(0);
    expect(await inPage()).toBeLessThan(60);
    // Scrolled to the end: the last card is drawn, and still only a screenful.
    await page.evaluate(() => {
      const grid = document.querySelector<HTMLElement>('[role=listbox][aria-label="Captioned images"]')!;
      grid.scrollTop = grid.scrollHeight;
    });
    await poll(() => page.locator('[data-testid=caption-card][data-name="card4999.jpg"]').count()).toBe(1);
    expect(await inPage()).toBeLessThan(60);
    // A card's caption box takes clicks and keys (arrow keys move the caret, not the grid's selection).
    const box = page.locator('[data-testid=caption-card][data-name="card4999.jpg"] [data-testid=caption-text]');
    await box.click();
    await page.keyboard.press('End');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.type('!');
    expect(await box.inputValue()).toBe('a caption of card 499!9');
    await h.screenshot('08-caption-5000');
  });

  it('the model panel and a machine-written caption fit at 900×700 and 1280×800, light and dark, without scrolling sideways', async () => {
    const dir = path.join(h.root, 'fit');
    await makeFolder(dir, 12);
    const opened = await h.services.call('dataset.open', { path: dir });
    if (!opened.ok) throw new Error(opened.error);
    const marked = await h.services.call('dataset.save', { datasetId: opened.value.datasetId, changes: [{ id: `${name(1)}.png`, captions: ['a machine written caption that is long enough to wrap in the side panel'] }], machine: [{ id: `${name(1)}.png`, captions: ['a machine written caption that is long enough to wrap in the side panel'] }] });
    if (!marked.ok) throw new Error(marked.error);
    await page.keyboard.press('Alt+2');
    await page.fill('#dataset-path', dir);
    await page.click('[data-testid=dataset-open]');
    await poll(() => page.locator('[data-testid=dataset-count]').textContent()).toBe('12 of 12');
    await page.locator('[role=listbox][aria-label="Dataset images"] [role=option]').nth(1).click();
    await poll(() => page.locator('.captions .badge.machine').count()).toBe(1);
    try {
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme });
        for (const [width, height] of [[900, 700], [1280, 800]] as const) {
          await page.setViewportSize({ width, height });
          for (const tab of ['captions', 'machine'] as const) {
            await page.click(tab === 'machine' ? '[data-testid=machine-tab]' : '.tabs button:first-child');
            await page.waitForTimeout(150);
            expect(await page.evaluate(() => document.documentElement.scrollWidth - innerWidth), `${tab} ${width} ${scheme}`).toBeLessThanOrEqual(0);
            // Nothing in the side panel runs past its right edge.
            const clipped = await page.evaluate(() => {
              const side = document.querySelector('.side')!.getBoundingClientRect().right;
              return [...document.querySelectorAll('.side button, .side select, .side .badge, .side p')].filter((el) => el.getBoundingClientRect().right > side + 0.5).map((el) => el.textContent);
            });
            expect(clipped, `${tab} ${width} ${scheme}`).toEqual([]);
            await h.screenshot(`09-datasets-${tab}-${width}-${scheme}`);
          }
        }
      }
    } finally {
      await page.emulateMedia({ colorScheme: 'light' });
      await page.setViewportSize({ width: 1360, height: 860 });
    }
  });
});
