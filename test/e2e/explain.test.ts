/**
 * "Explain a caption" in real Chromium against the browser mode: caption an image from a folder on disk with a
 * model whose word "red" depends on the image, click that word on the card, and see its heat map drawn over the
 * image with the panel (probability, top-5 alternatives, gates, units — hovering one shows its words); the card then
 * carries the gate strip.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveUnitMeanings } from '../../src-main/engine/explain-units.ts';
import { writeExplainableBundle } from '../helpers/explainable-model.ts';
import { writeImage } from '../services/fixtures.ts';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
let page: Page;

beforeAll(async () => {
  h = await startHarness('explain');
  page = h.page;
  const imported = await h.services.call('models.import', { path: await writeExplainableBundle(path.join(h.root, 'explainable')) });
  if (!imported.ok) throw new Error(imported.error);
  const chosen = await h.services.call('settings.update', { modelId: imported.value.id });
  if (!chosen.ok) throw new Error(chosen.error);
  // Unit meanings, as `caption-studio units` saves them beside the model: unit u "fires for" the word "word-u".
  const dir = h.services.models.dirOf(imported.value.id);
  const { createdAt } = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as { createdAt: string };
  const hidden = imported.value.hiddenDim;
  await saveUnitMeanings(dir, {
    format: 'caption-studio-unit-words',
    version: 1,
    encoderId: imported.value.encoderId,
    hiddenDim: hidden,
    modelCreatedAt: createdAt,
    source: 'test',
    captions: 1,
    minCount: 1,
    units: Array.from({ length: hidden }, (_, unit) => ({ unit, words: [{ word: `word-${unit}`, activation: 0.9, count: 3 }] })),
  });
});
afterAll(async () => {
  await h?.close();
});

function poll<T>(fn: () => T | Promise<T>, timeout = 30_000) {
  return expect.poll(fn, { timeout, interval: 100 });
}

describe('explain a caption in the Caption view', () => {
  it('clicking a word shows its heat map over the image and the panel; the card gets a gate strip', async () => {
    const dir = path.join(h.root, 'explain-images');
    await writeImage(path.join(dir, 'sunset.png'), [230, 60, 30], [250, 250, 250]);
    await page.click('[data-testid=open-folder]');
    await page.fill('#picker-path', dir);
    await page.press('#picker-path', 'Enter');
    await poll(() => page.locator('.picker .entry').count()).toBe(1);
    await page.click('.picker footer button.primary');
    const card = page.locator('[data-testid=caption-card][data-name="sunset.png"]');
    await poll(() => card.locator('[data-testid=caption-text]').inputValue(), 60_000).toBe('a red square');
    expect(await card.locator('[data-testid=caption-word]').allTextContents()).toEqual(['a', 'red', 'square']);

    await card.locator('[data-testid=caption-word]', { hasText: 'red' }).click();
    const dialog = page.locator('[data-testid=explain-dialog]');
    const heat = dialog.locator('[data-testid=explain-heatmap][data-word="red"]');
    await heat.waitFor({ timeout: 60_000 });
    // The map is drawn: its peak is 1 and the canvas over the image has coloured, partly opaque cells.
    expect(await heat.getAttribute('data-peak')).toBe('1.00');
    const drawn = await heat.locator('canvas').evaluate((c: HTMLCanvasElement) => {
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let opaque = 0;
      for (let k = 3; k < data.length; k += 4) if (data[k]! > 0) opaque++;
      return { width: c.width, height: c.height, opaque };
    });
    expect(drawn.width).toBe(7);
    expect(drawn.height).toBe(7);
    expect(drawn.opaque).toBeGreaterThan(0);
    const imgBox = await heat.locator('img').boundingBox();
    const canvasBox = await heat.locator('canvas').boundingBox();
    expect(canvasBox).toEqual(imgBox); // the map lies exactly over the image
    expect(await dialog.locator('[data-testid=explain-word]').textContent()).toBe('“red”');
    expect(await dialog.locator('[data-testid=explain-probability]').textContent()).toMatch(/^\d+(\.\d)?%$/);
    const alternatives = dialog.locator('[data-testid=explain-alternatives] li');
    await poll(() => alternatives.count()).toBe(5);
    expect(await alternatives.first().locator('.w').textContent()).toBe('red');
    // Hovering a unit shows the words it fires for.
    const unit = dialog.locator('[data-testid=explain-unit]').first();
    await unit.hover();
    const unitNumber = (await unit.textContent())!.match(/#(\d+)/)![1];
    await poll(() => dialog.locator('[data-testid=explain-unit-words]').textContent()).toBe(`Unit ${unitNumber} fires most at: word-${unitNumber}`);
    await h.screenshot('explain-01-word');

    // Another word from the dialog's gate strip: "square" does not depend on the image, so its map is empty.
    await dialog.locator('[data-testid=gate-strip] button', { hasText: 'square' }).click();
    const squareHeat = dialog.locator('[data-testid=explain-heatmap][data-word="square"]');
    await squareHeat.waitFor();
    expect(await squareHeat.getAttribute('data-peak')).toBe('0.00');
    await page.keyboard.press('Escape');
    await poll(() => dialog.isVisible()).toBe(false);
    // The card now shows the gate strip of its caption, one step per word.
    await poll(() => card.locator('[data-testid=gate-strip] button').count()).toBe(3);
  });
});
