/** Feature extraction over worker threads: the same features and tags, in the same order, as the encoder in this thread. */
import { describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import { defaultEncoderSpec, loadEncoder } from '../../src-main/engine/encoder.ts';
import { EncoderPool } from '../../src-main/engine/parallel/encoder-pool.ts';
import { Rng } from '../../src-main/util/rng.ts';

describe('EncoderPool', () => {
  it('gives each image the features the in-process encoder gives it, in order, for batches of any size', async () => {
    await initBackend({ prefer: 'wasm' });
    const spec = defaultEncoderSpec();
    const encoder = await loadEncoder(spec);
    const rng = new Rng(9);
    // Smooth random pictures (a gradient plus noise), different enough to tell apart.
    const images = Array.from({ length: 5 }, (_, k) =>
      Uint8Array.from({ length: 224 * 224 * 3 }, (_, i) => Math.min(255, ((i * (k + 1)) % 251) + rng.int(5))),
    );
    const pool = new EncoderPool(spec, 2, encoder.id, encoder.featureDim);
    try {
      const mine = (await encoder.encode(images, { topK: 0 })).features;
      for (const batch of [images, images.slice(0, 1), images.slice(2)]) {
        const theirs = (await pool.encode(batch)).features;
        expect(theirs).toHaveLength(batch.length);
        theirs.forEach((f, k) => {
          const ref = mine[images.indexOf(batch[k]!)]!;
          expect(f.length).toBe(encoder.featureDim);
          let diff = 0;
          let scale = 0;
          for (let j = 0; j < f.length; j++) {
            diff = Math.max(diff, Math.abs(f[j]! - ref[j]!));
            scale = Math.max(scale, Math.abs(ref[j]!));
          }
          expect(diff / scale).toBeLessThan(1e-5);
        });
      }
      // ImageNet tags when asked for: the same classes, probabilities up to floating-point detail.
      const mineTagged = await encoder.encode(images, { topK: 5 });
      const theirsTagged = await pool.encode(images, { topK: 5 });
      expect(theirsTagged.tags.map((t) => t.map((x) => x.label))).toEqual(mineTagged.tags.map((t) => t.map((x) => x.label)));
      theirsTagged.tags.forEach((t, k) => t.forEach((x, j) => expect(x.score).toBeCloseTo(mineTagged.tags[k]![j]!.score, 4)));
      expect((await pool.encode(images)).tags.every((t) => t.length === 0)).toBe(true);
      // The images really differ (so order mistakes would show).
      expect(Math.abs(mine[0]![0]! - mine[1]![0]!) + Math.abs(mine[0]![1]! - mine[1]![1]!)).toBeGreaterThan(1e-4);
    } finally {
      await pool.close();
      encoder.dispose();
    }
  });
});

describe('EncoderPool with idleMs', () => {
  it('stops its threads after that long without a request, and the next request starts them again', async () => {
    await initBackend({ prefer: 'wasm' });
    const spec = defaultEncoderSpec();
    const encoder = await loadEncoder(spec);
    const image = Uint8Array.from({ length: 224 * 224 * 3 }, (_, i) => (i * 7) % 256);
    const pool = new EncoderPool(spec, 2, encoder.id, encoder.featureDim, { idleMs: 300 });
    const close = vi.spyOn(pool, 'close');
    try {
      const first = (await pool.encode([image, image])).features;
      expect(close).not.toHaveBeenCalled();
      await expect.poll(() => close.mock.calls.length, { timeout: 5_000, interval: 50 }).toBe(1);
      const again = (await pool.encode([image, image])).features;
      expect(again).toEqual(first);
    } finally {
      await pool.close();
      encoder.dispose();
    }
  });
});
