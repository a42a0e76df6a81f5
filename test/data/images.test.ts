import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IMAGE_SIZE,
  ImageLoadError,
  decodeImage,
  loadImage,
  loadImages,
  makeThumbnail,
  type LoadedImage,
} from '../../src-main/data/images.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cs-images-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes a fixture into the temp dir and returns its path. */
async function fixture(name: string, data: Uint8Array | string): Promise<string> {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, data);
  return file;
}

function solid(width: number, height: number, rgb: [number, number, number]): Sharp {
  return sharp({ create: { width, height, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
}

/** Raw RGB whose left half is `left` and right half `right`. */
function halves(width: number, height: number, left: number[], right: number[], channels = 3): Buffer {
  const buf = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) buf.set(x < width / 2 ? left : right, (y * width + x) * channels);
  }
  return buf;
}

function pixel(img: LoadedImage, x: number, y: number): number[] {
  const o = (y * IMAGE_SIZE + x) * 3;
  return [img.pixels[o]!, img.pixels[o + 1]!, img.pixels[o + 2]!];
}

function expectNear(actual: number[], expected: number[], tolerance: number): void {
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!), `channel ${i}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tolerance));
}

async function loadError(file: string, limits = {}): Promise<ImageLoadError> {
  const err = await loadImage(file, limits).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ImageLoadError);
  const e = err as ImageLoadError;
  expect(e.message).not.toContain('\n');
  expect(e.path).toBe(file);
  return e;
}

/** A PNG whose header claims width × height but whose data is a tiny stub: a decompression bomb's header. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(width * 3 + 1))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('loadImage: pixels', () => {
  it('gives 224×224×3 RGB bytes of a plain PNG, whatever its size', async () => {
    const file = await fixture('plain.png', await solid(300, 200, [200, 10, 30]).png().toBuffer());
    const img = await loadImage(file);
    expect(img.pixels).toBeInstanceOf(Uint8Array);
    expect(img.pixels.length).toBe(224 * 224 * 3);
    expect([img.width, img.height]).toEqual([224, 224]);
    expect(img.source).toEqual({ format: 'png', width: 300, height: 200, bytes: img.source.bytes });
    expect(pixel(img, 0, 0)).toEqual([200, 10, 30]);
    expect(pixel(img, 223, 223)).toEqual([200, 10, 30]);
  });

  it('squashes the whole image into the square (resize policy "fill": nothing is cropped)', async () => {
    // 400×100: left quarter green, rest blue. With 'fill' the green quarter spans x ≈ 0–55 of 224; a centre crop
    // would have cut it away entirely.
    const raw = Buffer.alloc(400 * 100 * 3);
    for (let y = 0; y < 100; y++) for (let x = 0; x < 400; x++) raw.set(x < 100 ? [0, 255, 0] : [0, 0, 255], (y * 400 + x) * 3);
    const file = await fixture('wide.png', await sharp(raw, { raw: { width: 400, height: 100, channels: 3 } }).png().toBuffer());
    const img = await loadImage(file);
    expectNear(pixel(img, 20, 112), [0, 255, 0], 2);
    expectNear(pixel(img, 40, 10), [0, 255, 0], 2);
    expectNear(pixel(img, 80, 112), [0, 0, 255], 2);
  });

  it('converts a CMYK JPEG to sRGB', async () => {
    const raw = halves(64, 64, [255, 255, 255], [200, 60, 40]);
    const cmyk = await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer();
    const meta = await sharp(cmyk).metadata();
    expect([meta.space, meta.channels]).toEqual(['cmyk', 4]);
    const img = await loadImage(await fixture('cmyk.jpg', cmyk));
    expectNear(pixel(img, 20, 112), [255, 255, 255], 6);
    // A CMYK round trip moves saturated colours a little; the hue must survive (read as RGB, C/M/Y would invert it).
    expectNear(pixel(img, 200, 112), [200, 60, 40], 35);
  });

  it('reduces a 16-bit PNG to 8 bits', async () => {
    const raw = new Uint16Array(8 * 8 * 3);
    for (let i = 0; i < 64; i++) raw.set([200 * 257, 100 * 257, 50 * 257], i * 3);
    const png = await sharp(raw, { raw: { width: 8, height: 8, channels: 3 } }).toColourspace('rgb16').png().toBuffer();
    expect((await sharp(png).metadata()).depth).toBe('ushort');
    const img = await loadImage(await fixture('deep.png', png));
    expect(pixel(img, 0, 0)).toEqual([200, 100, 50]);
    expect(pixel(img, 223, 100)).toEqual([200, 100, 50]);
  });

  it('flattens alpha onto white', async () => {
    // Left half fully transparent black, right half opaque blue.
    const raw = halves(64, 64, [0, 0, 0, 0], [0, 0, 255, 255], 4);
    const png = await sharp(raw, { raw: { width: 64, height: 64, channels: 4 } }).png().toBuffer();
    const img = await loadImage(await fixture('alpha.png', png));
    expect(pixel(img, 20, 112)).toEqual([255, 255, 255]);
    expect(pixel(img, 200, 112)).toEqual([0, 0, 255]);
  });

  it('applies EXIF orientation: left half red, orientation 6 (rotate 90° clockwise) → red on top', async () => {
    const raw = halves(200, 100, [255, 0, 0], [0, 0, 255]);
    const jpeg = await sharp(raw, { raw: { width: 200, height: 100, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(jpeg).metadata()).orientation).toBe(6);
    const img = await loadImage(await fixture('rotated.jpg', jpeg));
    expect([img.source.width, img.source.height]).toEqual([100, 200]);
    expectNear(pixel(img, 112, 20), [255, 0, 0], 12);
    expectNear(pixel(img, 112, 200), [0, 0, 255], 12);

    const upright = await sharp(raw, { raw: { width: 200, height: 100, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
    const control = await loadImage(await fixture('upright.jpg', upright));
    expectNear(pixel(control, 20, 112), [255, 0, 0], 12);
    expectNear(pixel(control, 200, 112), [0, 0, 255], 12);
  });

  it('scales a 1×1 image up and turns grey into three equal channels', async () => {
    const one = await loadImage(await fixture('one.png', await solid(1, 1, [10, 20, 30]).png().toBuffer()));
    expect(pixel(one, 0, 0)).toEqual([10, 20, 30]);
    expect(pixel(one, 223, 223)).toEqual([10, 20, 30]);

    const greyPng = await solid(40, 30, [77, 77, 77]).toColourspace('b-w').png().toBuffer();
    expect((await sharp(greyPng).metadata()).channels).toBe(1);
    const grey = await loadImage(await fixture('grey.png', greyPng));
    expect(pixel(grey, 100, 100)).toEqual([77, 77, 77]);
  });

  it('reads WebP, GIF, TIFF and AVIF', async () => {
    const colour: [number, number, number] = [0, 128, 255];
    const files = {
      webp: await solid(48, 48, colour).webp({ lossless: true }).toBuffer(),
      gif: await solid(48, 48, colour).gif().toBuffer(),
      tiff: await solid(48, 48, colour).tiff().toBuffer(),
      avif: await solid(48, 48, colour).avif({ quality: 90 }).toBuffer(),
    };
    for (const [ext, data] of Object.entries(files)) {
      const img = await loadImage(await fixture(`colour.${ext}`, data));
      expectNear(pixel(img, 112, 112), colour, ext === 'avif' || ext === 'gif' ? 8 : 0);
    }
  });

  it('works with Unicode names and spaces in the path, and from bytes in memory', async () => {
    const data = await solid(30, 30, [1, 2, 3]).png().toBuffer();
    const file = await fixture(path.join('ảnh của tôi', 'phở bò 🍜 写真.png'), data);
    expect(pixel(await loadImage(file), 5, 5)).toEqual([1, 2, 3]);
    expect(pixel(await decodeImage(data, 'memory.png'), 5, 5)).toEqual([1, 2, 3]);
  });
});

describe('loadImage: one-line errors naming the path', () => {
  it('refuses an image over the pixel limit from its header alone', async () => {
    const file = await fixture('bomb.png', pngHeaderOnly(30000, 30000));
    const err = await loadError(file);
    expect(err.code).toBe('too-many-pixels');
    expect(err.message).toBe(`${file}: 30000×30000 px exceeds the 100 MP limit`);
  });

  it('applies a lower pixel limit and a file-size limit when given', async () => {
    const file = await fixture('limits.png', await solid(300, 200, [9, 9, 9]).png().toBuffer());
    expect((await loadError(file, { maxPixels: 10_000 })).message).toBe(`${file}: 300×200 px exceeds the 0.01 MP limit`);
    const big = await loadError(file, { maxFileBytes: 100 });
    expect(big.code).toBe('file-too-large');
    expect(big.message).toMatch(/^.*limits\.png: file is \d+(\.\d)? (bytes|kB), over the 100 bytes limit$/);
  });

  it('says a JPEG cut short is a truncated JPEG', async () => {
    const jpeg = await solid(300, 200, [1, 2, 3]).jpeg().toBuffer();
    const file = await fixture('cut.jpg', jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    const err = await loadError(file);
    expect(err.message).toBe(`${file}: truncated JPEG`);
    expect(err.code).toBe('truncated');
  });

  it('says a text file named .jpg is not an image', async () => {
    const file = await fixture('photo.jpg', 'id,caption\n1,a dog on a sofa\n');
    const err = await loadError(file);
    expect(err.message).toBe(`${file}: not an image (file content is text)`);
    expect(err.code).toBe('not-an-image');
    const binary = await loadError(await fixture('noise.jpg', Uint8Array.from([0, 159, 146, 150, 1, 2, 3, 250])));
    expect(binary.message).toMatch(/noise\.jpg: not an image \(unrecognised file format\)$/);
  });

  it('says a zero-byte file is empty, and a missing one is not found', async () => {
    const file = await fixture('zero.jpg', '');
    expect((await loadError(file)).message).toBe(`${file}: empty file (0 bytes)`);
    const missing = path.join(dir, 'no such.jpg');
    const err = await loadError(missing);
    expect([err.code, err.message]).toEqual(['not-found', `${missing}: file not found`]);
    expect((await loadError(dir)).message).toBe(`${dir}: is a directory, not a file`);
  });

  it('says a JPEG with damaged data is corrupt', async () => {
    const jpeg = Buffer.from(await solid(300, 200, [100, 150, 200]).jpeg().toBuffer());
    for (let i = 400; i < 600; i++) jpeg[i] = (i * 7) & 255;
    const err = await loadError(await fixture('damaged.jpg', jpeg));
    expect(err.code).toBe('corrupt');
    expect(err.message).toMatch(/damaged\.jpg: corrupt JPEG/);
  });
});

describe('loadImages', () => {
  it('returns a result per path in order; failures do not stop the batch', async () => {
    const good = await fixture('batch-good.png', await solid(20, 20, [4, 5, 6]).png().toBuffer());
    const bad = await fixture('batch-bad.jpg', 'not an image');
    const paths = [bad, good, path.join(dir, 'batch-missing.png'), good];
    const seen: number[] = [];
    const results = await loadImages(paths, { concurrency: 2, onProgress: (done, total) => seen.push(done * 10 + total) });
    expect(results.map((r) => r.path)).toEqual(paths);
    expect(results.map((r) => r.ok)).toEqual([false, true, false, true]);
    const first = results[0]!;
    expect(!first.ok && first.error.message).toBe(`${bad}: not an image (file content is text)`);
    const second = results[1]!;
    expect(second.ok && pixel(second.image, 3, 3)).toEqual([4, 5, 6]);
    expect(seen.sort()).toEqual([14, 24, 34, 44]);
  });

  it('stops starting files once the signal is aborted', async () => {
    const good = await fixture('abort.png', await solid(20, 20, [4, 5, 6]).png().toBuffer());
    const controller = new AbortController();
    controller.abort();
    const results = await loadImages([good, good], { signal: controller.signal });
    expect(results.every((r) => !r.ok && /cancelled/.test(r.error.message))).toBe(true);
  });
});

describe('makeThumbnail', () => {
  it('fits the image inside the box, keeps the aspect ratio and the orientation, never enlarges', async () => {
    const file = await fixture('thumb.png', await solid(300, 200, [250, 0, 0]).png().toBuffer());
    const jpeg = await makeThumbnail(file, 64);
    expect([jpeg.mime, jpeg.width, jpeg.height]).toEqual(['image/jpeg', 64, 43]);
    expect([...jpeg.data.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    const meta = await sharp(jpeg.data).metadata();
    expect([meta.width, meta.height]).toEqual([64, 43]);

    const webp = await makeThumbnail(file, 32, { format: 'webp' });
    expect([webp.mime, webp.width, webp.height]).toEqual(['image/webp', 32, 21]);
    expect(webp.data.subarray(8, 12).toString('ascii')).toBe('WEBP');

    const tiny = await fixture('thumb-tiny.png', await solid(1, 1, [1, 1, 1]).png().toBuffer());
    expect((await makeThumbnail(tiny, 64)).width).toBe(1);

    const raw = halves(200, 100, [255, 0, 0], [0, 0, 255]);
    const rotated = await fixture('thumb-rot.jpg', await sharp(raw, { raw: { width: 200, height: 100, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer());
    const t = await makeThumbnail(rotated, 50);
    expect([t.width, t.height]).toEqual([25, 50]);
  });

  it('reports the same one-line errors as loadImage', async () => {
    const file = await fixture('thumb-text.jpg', 'hello');
    await expect(makeThumbnail(file, 64)).rejects.toThrow(`${file}: not an image (file content is text)`);
  });
});
