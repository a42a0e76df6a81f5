import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  defaultCacheDir,
  extractFeatures,
  FeatureCache,
  sha256Hex,
  type FeatureEncoder,
  type FeatureResult,
  type PixelDecoder,
} from '../../src-main/data/feature-cache.ts';
import { appDirs } from '../../src-main/services/app-dirs.ts';
import { CancelledError, type ProgressEvent } from '../../src-main/util/progress.ts';
import { rejection, tempDir, writeTree } from './fixtures.ts';

/** A toy encoder whose features are a known function of the pixels: [mean, first, last, length/1000]. */
function fakeEncoder(id = 'fake/v1'): FeatureEncoder & { calls: number; images: number } {
  const encoder = {
    id,
    featureDim: 4,
    calls: 0,
    images: 0,
    async encode(pixels: readonly Uint8Array[]) {
      encoder.calls++;
      encoder.images += pixels.length;
      return { features: pixels.map((p) => Float32Array.of(p.reduce((a, b) => a + b, 0) / p.length, p[0]!, p[p.length - 1]!, p.length / 1000)) };
    },
  };
  return encoder;
}
/** The "pixels" of a file are its bytes; a file starting with "BAD" cannot be decoded. */
const bytesAsPixels: PixelDecoder = async (data, file) => {
  if (Buffer.from(data).subarray(0, 3).toString() === 'BAD') throw new Error(`${file}: not an image (test)`);
  return Uint8Array.from(data);
};

const featuresOf = (r: FeatureResult | undefined): number[] => (r?.ok ? [...r.features] : []);
const sourceOf = (r: FeatureResult | undefined): string => (r?.ok ? r.source : `error: ${r?.error}`);

let dir: string;
let cacheDir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  cacheDir = path.join(dir, 'cache');
  await writeTree(dir, { 'a.jpg': 'hello', 'b c.jpg': 'world', 'ảnh.jpg': 'hello', 'bad.jpg': 'BAD!' });
});
afterEach(() => cleanup());

describe('extractFeatures', () => {
  it('computes once per content, caches, and reuses the cache in the next run', async () => {
    const paths = ['a.jpg', 'b c.jpg', 'ảnh.jpg', 'missing.jpg', 'bad.jpg'].map((n) => path.join(dir, n));
    const encoder = fakeEncoder();
    const events: ProgressEvent[] = [];
    const first = await extractFeatures(paths, encoder, { cacheDir, batchSize: 4, decode: bytesAsPixels, onProgress: (e) => events.push(e) });
    // "hello" = 104 101 108 108 111: mean 106.4; "world" = 119 111 114 108 100: mean 110.4
    expect(featuresOf(first[0])).toEqual([Math.fround(106.4), 104, 111, Math.fround(0.005)]);
    expect(featuresOf(first[1])).toEqual([Math.fround(110.4), 119, 100, Math.fround(0.005)]);
    expect(featuresOf(first[2])).toEqual(featuresOf(first[0]));
    expect(first.map(sourceOf).slice(0, 3)).toEqual(['computed', 'computed', 'computed']);
    expect(first[3]).toEqual({ ok: false, path: paths[3], error: `${paths[3]}: file not found` });
    expect(first[4]).toEqual({ ok: false, path: paths[4], error: `${paths[4]}: not an image (test)` });
    expect(first[0]!.ok && first[0]!.contentHash).toBe(sha256Hex('hello'));
    expect(encoder.images).toBe(2); // the two files holding "hello" were encoded once

    const last = events.at(-1)!;
    expect(last).toMatchObject({ task: 'extract', done: 5, total: 5, values: { cached: 0, computed: 3, failed: 2 } });
    expect(events.every((e) => e.done <= e.total)).toBe(true);

    // A second run, from another "dataset" naming the same content differently, is all cache.
    await writeTree(dir, { 'copy/renamed.png': 'world' });
    const again = fakeEncoder();
    const second = await extractFeatures([paths[0]!, path.join(dir, 'copy', 'renamed.png')], again, { cacheDir, decode: bytesAsPixels });
    expect(again.calls).toBe(0);
    expect(second.map(sourceOf)).toEqual(['cache', 'cache']);
    expect(featuresOf(second[1])).toEqual(featuresOf(first[1]));
  });

  it("keeps each encoder's features apart: another encoder id computes its own, and neither overwrites the other", async () => {
    const paths = [path.join(dir, 'a.jpg')];
    const v1 = fakeEncoder('mobilenet_v1_0.75_224/gap_conv_pw_13/fill224');
    await extractFeatures(paths, v1, { cacheDir, decode: bytesAsPixels });
    // Same file, another encoder whose features differ (doubled): it must not be handed the first encoder's.
    const other = fakeEncoder('mobilenet_v2_1.0_224/AvgPool/fill224');
    const otherEncode = other.encode.bind(other);
    other.encode = async (pixels) => ({ features: (await otherEncode(pixels)).features.map((f) => f.map((x) => 2 * x)) });
    const first = await extractFeatures(paths, other, { cacheDir, decode: bytesAsPixels });
    expect(first.map(sourceOf)).toEqual(['computed']);
    expect(other.images).toBe(1);
    expect(featuresOf(first[0])).toEqual([Math.fround(212.8), 208, 222, Math.fround(0.01)]);
    const cache = new FeatureCache(cacheDir);
    expect(cache.fileFor(v1.id, sha256Hex('hello'))).not.toBe(cache.fileFor(other.id, sha256Hex('hello')));
    // Both stay cached, each with its own values.
    const again = await extractFeatures(paths, fakeEncoder(v1.id), { cacheDir, decode: bytesAsPixels });
    expect(again.map(sourceOf)).toEqual(['cache']);
    expect(featuresOf(again[0])).toEqual([Math.fround(106.4), 104, 111, Math.fround(0.005)]);
    const againOther = await extractFeatures(paths, fakeEncoder(other.id), { cacheDir, decode: bytesAsPixels });
    expect(featuresOf(againOther[0])).toEqual(featuresOf(first[0]));
  });

  it('recomputes features whose cache file is damaged (flipped byte, truncated, wrong key) instead of returning garbage', async () => {
    const a = path.join(dir, 'a.jpg');
    const b = path.join(dir, 'b c.jpg');
    await extractFeatures([a, b], fakeEncoder(), { cacheDir, decode: bytesAsPixels });
    const cache = new FeatureCache(cacheDir);
    const fileA = cache.fileFor('fake/v1', sha256Hex('hello'));
    const fileB = cache.fileFor('fake/v1', sha256Hex('world'));
    const bytesA = await readFile(fileA);
    bytesA[bytesA.length - 1]! ^= 0x40; // damage the last float
    await writeFile(fileA, bytesA);
    await writeFile(fileB, (await readFile(fileB)).subarray(0, 50));
    expect(await cache.get('fake/v1', 4, sha256Hex('hello'))).toBe('damaged');

    const encoder = fakeEncoder();
    const results = await extractFeatures([a, b], encoder, { cacheDir, decode: bytesAsPixels });
    expect(results.map(sourceOf)).toEqual(['repaired', 'repaired']);
    expect(featuresOf(results[0])).toEqual([Math.fround(106.4), 104, 111, Math.fround(0.005)]);
    expect(encoder.images).toBe(2);
    // Repaired on disk: the next run reads them back.
    expect(featuresOf({ ok: true, path: a, contentHash: '', source: 'cache', features: (await cache.get('fake/v1', 4, sha256Hex('hello'))) as Float32Array })).toEqual(featuresOf(results[0]));

    // A file copied under another content's name fails its key check.
    await mkdir(path.dirname(cache.fileFor('fake/v1', sha256Hex('other'))), { recursive: true });
    await writeFile(cache.fileFor('fake/v1', sha256Hex('other')), await readFile(fileA));
    expect(await cache.get('fake/v1', 4, sha256Hex('other'))).toBe('damaged');
    // A different encoder or dimension never sees these features.
    expect(await cache.get('fake/v2', 4, sha256Hex('hello'))).toBe('absent');
    expect(await cache.get('fake/v1', 8, sha256Hex('hello'))).toBe('damaged');
  });

  it('stops between batches when cancelled, keeping what was computed', async () => {
    const paths = ['a.jpg', 'b c.jpg'].map((n) => path.join(dir, n));
    const controller = new AbortController();
    const encoder = fakeEncoder();
    const inner = encoder.encode.bind(encoder);
    encoder.encode = async (pixels) => {
      const out = await inner(pixels);
      controller.abort();
      return out;
    };
    const err = await rejection(extractFeatures(paths, encoder, { cacheDir, batchSize: 1, decode: bytesAsPixels, signal: controller.signal }));
    expect(err).toBeInstanceOf(CancelledError);
    expect(encoder.calls).toBe(1);
    expect(await new FeatureCache(cacheDir).get('fake/v1', 4, sha256Hex('hello'))).toBeInstanceOf(Float32Array);
  });

  it('awaits the checkpoint hook between batches (a job gate can pause or stop it)', async () => {
    const paths = ['a.jpg', 'b c.jpg', 'bad.jpg'].map((n) => path.join(dir, n));
    const encoder = fakeEncoder();
    let checkpoints = 0;
    const checkpoint = async (): Promise<void> => {
      checkpoints++;
      if (encoder.calls === 1) throw new Error('stopped by the gate');
    };
    await expect(extractFeatures(paths, encoder, { cacheDir, batchSize: 1, decode: bytesAsPixels, checkpoint })).rejects.toThrow(/stopped by the gate/);
    // chunk 1 (a), its batch, then chunk 2 stops before reading b
    expect(checkpoints).toBe(3);
    expect(encoder.calls).toBe(1);
  });

  it('refuses a file over the size limit before reading it, like loadImage', async () => {
    const huge = path.join(dir, 'huge.png');
    await writeFile(huge, '');
    await truncate(huge, 101 * 1024 * 1024); // sparse: nothing is written
    const encoder = fakeEncoder();
    const [result] = await extractFeatures([huge], encoder, { cacheDir, decode: bytesAsPixels });
    expect(result).toEqual({ ok: false, path: huge, error: `${huge}: file is 101 MB, over the 100 MB limit` });
    expect(encoder.calls).toBe(0);
  });

  it('goes on without the cache when it cannot be written, and says so once', async () => {
    const blocked = path.join(dir, 'not-a-folder');
    await writeFile(blocked, 'a file where the cache folder should be');
    const warnings: string[] = [];
    const paths = ['a.jpg', 'b c.jpg'].map((n) => path.join(dir, n));
    const results = await extractFeatures(paths, fakeEncoder(), { cacheDir: blocked, batchSize: 1, decode: bytesAsPixels, onWarning: (m) => warnings.push(m) });
    expect(results.map(sourceOf)).toEqual(['computed', 'computed']);
    expect(featuresOf(results[0])).toEqual([Math.fround(106.4), 104, 111, Math.fround(0.005)]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(new RegExp(`^feature cache ${blocked.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot write \\(.*ENOTDIR`));
  });

  it('throws when the encoder returns the wrong number or size of vectors', async () => {
    const wrong: FeatureEncoder = { id: 'w', featureDim: 3, encode: async (p) => ({ features: p.map(() => new Float32Array(2)) }) };
    await expect(extractFeatures([path.join(dir, 'a.jpg')], wrong, { cacheDir, decode: bytesAsPixels })).rejects.toThrow(/encoder w: returned 2 features, expected 3/);
  });

  it('decodes real images with images.ts by default (224×224×3 pixels reach the encoder)', async () => {
    const png = await sharp({ create: { width: 5, height: 3, channels: 3, background: { r: 255, g: 0, b: 0 } } }).png().toBuffer();
    await writeTree(dir, { 'red dot.png': png });
    const encoder = fakeEncoder();
    const [result] = await extractFeatures([path.join(dir, 'red dot.png')], encoder, { cacheDir });
    // Pure red everywhere: mean of (255, 0, 0) repeated = 85, first byte 255, last byte 0, 150528 bytes.
    expect(featuresOf(result)).toEqual([85, 255, 0, Math.fround(150.528)]);
  });
});

describe('defaultCacheDir', () => {
  it('prefers CAPTION_STUDIO_CACHE_DIR (the app\'s name), then CAPTION_STUDIO_CACHE, then XDG_CACHE_HOME', () => {
    expect(defaultCacheDir({ CAPTION_STUDIO_CACHE_DIR: '/tmp/cs-app', CAPTION_STUDIO_CACHE: '/tmp/cs-cache', XDG_CACHE_HOME: '/x' })).toBe('/tmp/cs-app');
    expect(appDirs({ CAPTION_STUDIO_CACHE_DIR: '/tmp/cs-app', CAPTION_STUDIO_CACHE: '/tmp/cs-cache' }).cacheDir).toBe('/tmp/cs-app');
    expect(defaultCacheDir({ CAPTION_STUDIO_CACHE: '/tmp/cs-cache', XDG_CACHE_HOME: '/x' })).toBe('/tmp/cs-cache');
    expect(appDirs({ CAPTION_STUDIO_CACHE: '/tmp/cs-cache' }).cacheDir).toBe('/tmp/cs-cache');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/home/u/.cache' })).toBe('/home/u/.cache/caption-studio');
    expect(defaultCacheDir({})).toMatch(/caption-studio/);
  });
});
