/**
 * `caption.explain` through the app's services (validation, the session's image grants, the inference worker,
 * the model folder's unit meanings) on a hand-built model whose caption is known, "a red square", and whose word
 * "red" alone depends on the image (test/helpers/explainable-model.ts).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveUnitMeanings, type UnitMeanings } from '../../src-main/engine/explain-units.ts';
import { writeExplainableBundle } from '../helpers/explainable-model.ts';
import { servicesInTempDir, writeImage } from './fixtures.ts';

let env: Awaited<ReturnType<typeof servicesInTempDir>>;
let images: string;

beforeAll(async () => {
  env = await servicesInTempDir('cs-explain-services-', (root) => writeExplainableBundle(path.join(root, 'builtin', 'default')));
  images = path.join(env.root, 'images');
  await writeImage(path.join(images, 'red.png'), [220, 30, 30], [250, 250, 250]);
  await writeImage(path.join(env.root, 'elsewhere', 'secret.png'), [0, 0, 0]);
  await env.services.media.allow(images);
}, 60_000);

afterAll(async () => env?.close());

describe('caption.explain', () => {
  it("explains the model's own caption of an image the session opened: per word probability, alternatives, gates, units, heat map", async () => {
    const r = await env.services.call('caption.explain', { path: path.join(images, 'red.png') });
    if (!r.ok) throw new Error(r.error);
    const e = r.value;
    expect(e.caption).toBe('a red square');
    expect(e.method).toBe('grad-cam');
    expect(e.unitMeanings).toBe(false);
    expect(e.words.map((w) => w.word)).toEqual(['a', 'red', 'square']);
    for (const w of e.words) {
      expect(w.alternatives).toHaveLength(5);
      expect(w.alternatives[0]!.word).toBe(w.word);
      expect(w.heatmap.width).toBe(7);
      expect(w.heatmap.values).toHaveLength(49);
      expect(w.topUnits[0]!.words).toBeUndefined();
    }
    // "a" and "square" do not depend on the image (no map); "red" does, and its map peaks at 1.
    expect(Math.max(...e.words[0]!.heatmap.values)).toBe(0);
    expect(Math.max(...e.words[1]!.heatmap.values)).toBe(1);
    // The fixed model's forget gates are shut (bias −10) and "a" opens its next word's unit fully.
    expect(e.words[0]!.gates.forget).toBeLessThan(0.001);
    expect(e.words[0]!.probability).toBeGreaterThan(0.99);
    // Each word is written by its own hidden unit (the fixed model's state is one-hot on the next word).
    expect(new Set(e.words.map((w) => w.topUnits[0]!.unit)).size).toBe(3);
  }, 60_000);

  it('explains a caption the user typed, attaches unit meanings once saved, and refuses images outside the session', async () => {
    const model = (await env.services.call('models.list', {}));
    if (!model.ok) throw new Error(model.error);
    const meanings: UnitMeanings = {
      format: 'caption-studio-unit-words',
      version: 1,
      encoderId: model.value[0]!.encoderId,
      hiddenDim: model.value[0]!.hiddenDim,
      modelCreatedAt: (JSON.parse(await readFile(path.join(env.root, 'builtin', 'default', 'model.json'), 'utf8')) as { createdAt: string }).createdAt,
      source: 'test',
      captions: 1,
      minCount: 1,
      units: Array.from({ length: model.value[0]!.hiddenDim }, (_, unit) => ({ unit, words: [{ word: `w${unit}`, activation: 0.5, count: 1 }] })),
    };
    // Meanings of another model (an earlier one in the same folder) are not used.
    await saveUnitMeanings(path.join(env.root, 'builtin', 'default'), { ...meanings, modelCreatedAt: '2000-01-01T00:00:00.000Z' });
    const stale = await env.services.call('caption.explain', { path: path.join(images, 'red.png') });
    expect(stale.ok && stale.value.unitMeanings).toBe(false);
    await saveUnitMeanings(path.join(env.root, 'builtin', 'default'), meanings);
    const r = await env.services.call('caption.explain', { path: path.join(images, 'red.png'), caption: 'A blue square' });
    if (!r.ok) throw new Error(r.error);
    expect(r.value.words.map((w) => w.word)).toEqual(['a', 'blue', 'square']);
    expect(r.value.unitMeanings).toBe(true);
    const unit = r.value.words[1]!.topUnits[0]!;
    expect(unit.words).toEqual([{ word: `w${unit.unit}`, activation: 0.5, count: 1 }]);
    // "blue" is not in the vocabulary: read as <unk>, which the model finds unlikely.
    expect(r.value.words[1]!.probability).toBeLessThan(0.01);

    const outside = await env.services.call('caption.explain', { path: path.join(env.root, 'elsewhere', 'secret.png') });
    expect(outside.ok).toBe(false);
    if (!outside.ok) expect(outside.error).toMatch(/outside the folders opened in this session/);
    const gone = await env.services.call('caption.explain', { path: path.join(env.services.uploads.dir, 'abc', 'dropped.png') });
    expect(gone.ok).toBe(false);
    if (!gone.ok) expect(gone.error).toMatch(/uploaded copy of dropped\.png was removed .* folder on disk/);
    const bad = await env.services.call('caption.explain', { path: '' });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.code).toBe('validation');
  }, 60_000);
});
