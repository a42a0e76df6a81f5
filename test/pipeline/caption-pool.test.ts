/**
 * Captioning a folder on worker threads (pipeline/caption-images.ts with `workers: 2`) gives what the one-thread
 * path gives: the same files in the same order, a broken file as the same error result while the rest go on, the
 * same captions and alternatives, scores and ImageNet tags equal up to floating-point detail; the threads stop
 * when the batch ends and when it is cancelled. Uses the shipped model (models/default) and its encoder.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import { loadBundle } from '../../src-main/engine/bundle.ts';
import { disposeCaptionModel, type CaptionModel } from '../../src-main/engine/caption-model.ts';
import { loadEncoder, type ImageEncoder } from '../../src-main/engine/encoder.ts';
import { encoderSpecFor } from '../../src-main/engine/encoder-registry.ts';
import { EncoderPool } from '../../src-main/engine/parallel/encoder-pool.ts';
import { captionImages, captionWorkers, type CaptionImagesOptions, type ImageCaption } from '../../src-main/pipeline/caption-images.ts';
import { modelsDir } from '../../src-main/util/paths.ts';
import { CancelledError } from '../../src-main/util/progress.ts';
import { Rng } from '../../src-main/util/rng.ts';
import { allSceneContents, placeScene, renderShapes, sceneShapes } from '../helpers/shapes.ts';

let model: CaptionModel;
let encoder: ImageEncoder;
let root: string;
let paths: string[];
const BROKEN = 4;

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  model = await loadBundle(path.join(modelsDir(), 'default'));
  encoder = await loadEncoder(encoderSpecFor(model.encoderId));
  root = await mkdtemp(path.join(tmpdir(), 'cs-caption-pool-'));
  const rng = new Rng(11);
  paths = [];
  for (const [i, c] of allSceneContents().slice(0, 9).entries()) {
    if (i === BROKEN) {
      const broken = path.join(root, `0${i}-broken.jpg`);
      await writeFile(broken, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]));
      paths.push(broken);
    }
    const file = path.join(root, `0${i}-scene.jpg`);
    await writeFile(file, await renderShapes(sceneShapes(placeScene(c, rng, 260)), { size: 260, format: 'jpeg' }));
    paths.push(file);
  }
});

afterAll(async () => {
  if (model) disposeCaptionModel(model);
  encoder?.dispose();
  if (root) await rm(root, { recursive: true, force: true });
});

const options = (workers: number): CaptionImagesOptions => ({
  model,
  encoder,
  workers,
  tags: 5,
  chunkSize: 4,
  caption: { beamSize: 3, topN: 3, blockRepeatedNgram: 2 },
});

async function collect(list: readonly string[], opts: CaptionImagesOptions): Promise<ImageCaption[]> {
  const out: ImageCaption[] = [];
  for await (const r of captionImages(list, opts)) out.push(r);
  return out;
}

/** Expects `got` to be `want` (the one-thread results): same files in order, same captions, numbers up to float detail. */
function expectSameResults(got: readonly ImageCaption[], want: readonly ImageCaption[]): void {
  expect(got.map((r) => r.path)).toEqual(paths);
  expect(got[BROKEN]).toEqual(want[BROKEN]);
  expect(got[BROKEN]!.ok).toBe(false);
  expect(got.filter((r) => r.ok)).toHaveLength(paths.length - 1);
  for (const [k, a] of got.entries()) {
    const b = want[k]!;
    if (!a.ok || !b.ok) continue;
    expect(a.caption).toBe(b.caption);
    expect(a.words).toEqual(b.words);
    expect(a.score).toBeCloseTo(b.score, 4);
    expect(a.logProb).toBeCloseTo(b.logProb, 3);
    expect(a.alternatives.map((x) => x.caption)).toEqual(b.alternatives.map((x) => x.caption));
    a.alternatives.forEach((x, j) => expect(x.score).toBeCloseTo(b.alternatives[j]!.score, 4));
    expect(a.tags.length).toBeGreaterThan(0);
    expect(a.tags.map((t) => t.label)).toEqual(b.tags.map((t) => t.label));
    a.tags.forEach((t, j) => expect(t.score).toBeCloseTo(b.tags[j]!.score, 4));
  }
}

describe('captionImages on worker threads', () => {
  it('gives the one-thread results, in input order, a broken file included', async () => {
    const one = await collect(paths, options(1));
    expect(one.map((r) => r.path)).toEqual(paths);
    // The pictures differ, so an order mistake would show.
    expect(new Set(one.flatMap((r) => (r.ok ? [r.caption] : []))).size).toBeGreaterThan(1);

    // Every chunk on threads that are ready from the start…
    const pool = new EncoderPool(encoderSpecFor(model.encoderId), 2, encoder.id, encoder.featureDim, { captionModel: model });
    const caption = vi.spyOn(EncoderPool.prototype, 'caption');
    try {
      await pool.ready();
      expectSameResults(await collect(paths, { ...options(2), pool }), one);
      expect(caption).toHaveBeenCalledTimes(3); // 10 files in chunks of 4, each split between the two threads
    } finally {
      caption.mockRestore();
      await pool.close();
    }
    // …and on threads captionImages starts itself (the first chunks are done here while they load), stopped at the end.
    expect(captionWorkers(paths.length, options(2))).toBe(2);
    const close = vi.spyOn(EncoderPool.prototype, 'close');
    expectSameResults(await collect(paths, options(2)), one);
    expect(close).toHaveBeenCalledTimes(1);
    close.mockRestore();
  });

  it('captions in this thread, saying so in one line, when the threads cannot start', async () => {
    const one = await collect(paths, options(1));
    const ready = vi.spyOn(EncoderPool.prototype, 'ready').mockRejectedValue(new Error('no memory for a thread\nat stack'));
    const caption = vi.spyOn(EncoderPool.prototype, 'caption');
    const warnings: string[] = [];
    try {
      expectSameResults(await collect(paths, { ...options(2), onWarning: (m) => warnings.push(m) }), one);
      expect(caption).not.toHaveBeenCalled();
      expect(warnings).toEqual(['caption threads could not start (no memory for a thread); captioning in one thread']);
    } finally {
      ready.mockRestore();
      caption.mockRestore();
    }
    // Threads that start say nothing.
    const quiet: string[] = [];
    await collect(paths, { ...options(2), onWarning: (m) => quiet.push(m) });
    expect(quiet).toEqual([]);
  });

  it('stops between chunks when cancelled or left early, and stops its threads', async () => {
    const controller = new AbortController();
    const close = vi.spyOn(EncoderPool.prototype, 'close');
    const seen: ImageCaption[] = [];
    const run = (async () => {
      for await (const r of captionImages(paths, { ...options(2), signal: controller.signal })) {
        seen.push(r);
        controller.abort();
      }
    })();
    await expect(run).rejects.toBeInstanceOf(CancelledError);
    expect(seen).toHaveLength(4); // the first chunk (2 per worker), then no more
    expect(close).toHaveBeenCalledTimes(1);
    // A caller that stops reading early stops the threads too.
    for await (const r of captionImages(paths, options(2))) {
      expect(r.path).toBe(paths[0]);
      break;
    }
    expect(close).toHaveBeenCalledTimes(2);
    close.mockRestore();
  });

  it('keeps two chunks of files or fewer, one worker or an uninstalled encoder in this thread', () => {
    expect(captionWorkers(33, { workers: 2, encoder })).toBe(2); // chunks of 16
    expect(captionWorkers(32, { workers: 2, encoder })).toBe(1);
    expect(captionWorkers(65, { workers: 16, encoder })).toBe(16); // chunks of 32: 2 images per thread
    expect(captionWorkers(64, { workers: 16, encoder })).toBe(1);
    expect(captionWorkers(9, { workers: 2, encoder, chunkSize: 4 })).toBe(2);
    expect(captionWorkers(100, { workers: 1, encoder })).toBe(1);
    expect(captionWorkers(100, { workers: 4, encoder: { ...encoder, id: 'toy-encoder' } })).toBe(1);
  });
});
