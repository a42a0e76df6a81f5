/**
 * Image files → the 224×224 RGB pixels the encoder sees, decoded with sharp (libvips): JPEG, PNG, WebP, GIF (first
 * frame), TIFF, AVIF, HEIF and whatever else the bundled libvips reads (folder scans pick the extensions in
 * `IMAGE_EXTENSIONS`; SVG is not among them, as a vector file can pull in other files while it renders).
 *
 * One pipeline, used identically for training, evaluation and captioning:
 *   1. EXIF orientation applied (the pixels end up the way a viewer shows the photo);
 *   2. alpha flattened onto WHITE (`FLATTEN_BACKGROUND`: transparent logos and scans are made for light pages);
 *   3. any colour space (grey, CMYK, 16-bit, Lab…) converted to 8-bit sRGB with three channels;
 *   4. resized to 224×224 by `RESIZE_POLICY` = 'fill': the whole image squashed to the square, aspect ratio not
 *      kept (as @tensorflow-models/mobilenet feeds images), so nothing a caption may mention is cropped away;
 *      libvips' Lanczos-3 kernel.
 * Limits (both overridable per call): files over `MAX_FILE_BYTES` and images over `MAX_INPUT_PIXELS` (checked on
 * the header, before decoding: a decompression bomb costs nothing) are refused. Every failure is an
 * `ImageLoadError` whose message is one line naming the path and the reason.
 */
import { readFile, stat } from 'node:fs/promises';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { mapLimit } from '../util/map-limit.ts';

/** Side of the square the encoder takes. */
export const IMAGE_SIZE = 224;
/** The resize policy (see the module comment); recorded by whoever stores features. */
export const RESIZE_POLICY = 'fill' as const;
/** Background that transparent pixels are flattened onto. */
export const FLATTEN_BACKGROUND = { r: 255, g: 255, b: 255 } as const;
/** Largest image accepted, in pixels (width × height of the stored image): 100 MP. */
export const MAX_INPUT_PIXELS = 100_000_000;
/** Largest file accepted: 100 MB. */
export const MAX_FILE_BYTES = 100 * 1024 * 1024;

/** Why an image could not be loaded, as a stable code the UI can switch on. */
export type ImageErrorCode =
  | 'not-found'
  | 'unreadable'
  | 'empty'
  | 'file-too-large'
  | 'too-many-pixels'
  | 'not-an-image'
  | 'truncated'
  | 'corrupt';

/** A file that could not be turned into pixels; `message` is `"<path>: <reason>"` on one line. */
export class ImageLoadError extends Error {
  constructor(
    readonly path: string,
    readonly code: ImageErrorCode,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'ImageLoadError';
  }
}

/** Limits for one load; defaults are the module constants. */
export interface ImageLimits {
  readonly maxPixels?: number;
  readonly maxFileBytes?: number;
}

/** A decoded image, ready for the encoder. */
export interface LoadedImage {
  readonly path: string;
  /** IMAGE_SIZE × IMAGE_SIZE × 3 bytes, row-major RGB. */
  readonly pixels: Uint8Array;
  readonly width: typeof IMAGE_SIZE;
  readonly height: typeof IMAGE_SIZE;
  /** The file as stored: its format, its size as displayed (after EXIF orientation) and its length in bytes. */
  readonly source: { readonly format: string; readonly width: number; readonly height: number; readonly bytes: number };
}

/** Reads and decodes one image file (see the module comment for the pipeline). */
export async function loadImage(path: string, limits: ImageLimits = {}): Promise<LoadedImage> {
  const data = await readImageFile(path, limits);
  return decodeImage(data, path, limits);
}

/**
 * Decodes image bytes already in memory (e.g. read once to hash them for the feature cache); `path` names the
 * file in errors.
 */
export async function decodeImage(data: Uint8Array, path: string, limits: ImageLimits = {}): Promise<LoadedImage> {
  const header = await readHeader(data, path, limits);
  const maxPixels = limits.maxPixels ?? MAX_INPUT_PIXELS;
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await sharp(data, { limitInputPixels: maxPixels, failOn: 'warning' })
      .rotate()
      .flatten({ background: FLATTEN_BACKGROUND })
      .toColourspace('srgb')
      .resize(IMAGE_SIZE, IMAGE_SIZE, { fit: 'fill', kernel: 'lanczos3' })
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw decodeError(err, path, header.format, data);
  }
  const { info } = out;
  if (info.width !== IMAGE_SIZE || info.height !== IMAGE_SIZE || info.channels !== 3) {
    throw new ImageLoadError(path, 'corrupt', `decoded to ${info.width}×${info.height}×${info.channels}, expected ${IMAGE_SIZE}×${IMAGE_SIZE}×3`);
  }
  const pixels = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
  return { path, pixels, width: IMAGE_SIZE, height: IMAGE_SIZE, source: { ...header, bytes: data.byteLength } };
}

/**
 * Checks that a file would load, without decoding its pixels: size limits, a readable image header within the
 * pixel limit, and (JPEG, PNG, GIF, WebP) no truncation. Throws the same ImageLoadError `loadImage` would.
 */
export async function checkImageFile(path: string, limits: ImageLimits = {}): Promise<void> {
  const data = await readImageFile(path, limits);
  const header = await readHeader(data, path, limits);
  if (isTruncated(data)) throw new ImageLoadError(path, 'truncated', `truncated ${header.format.toUpperCase()}`);
}

/**
 * `checkImageFile` over many files, `concurrency` at a time: the errors of the files that would not load, in the
 * order of `paths`. `onDone(done, total)` after each file.
 */
export async function checkImageFiles(
  paths: readonly string[],
  opts: { concurrency?: number; onDone?: (done: number, total: number) => void } = {},
): Promise<ImageLoadError[]> {
  let done = 0;
  const results = await mapLimit(paths, Math.max(1, opts.concurrency ?? 8), async (file) => {
    try {
      await checkImageFile(file);
      return null;
    } catch (err) {
      return asImageLoadError(err, file);
    } finally {
      opts.onDone?.(++done, paths.length);
    }
  });
  return results.filter((r): r is ImageLoadError => r !== null);
}

/** One entry of `loadImages`: the image, or the error that stopped it. */
export type ImageLoadResult =
  | { readonly ok: true; readonly path: string; readonly image: LoadedImage }
  | { readonly ok: false; readonly path: string; readonly error: ImageLoadError };

export interface LoadImagesOptions extends ImageLimits {
  /** Files decoded at once (default 4; libvips also threads inside each). */
  readonly concurrency?: number;
  /** Called after each file, done counting both successes and failures. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Stops starting new files; those already started finish. Pending entries then hold an 'unreadable' error. */
  readonly signal?: AbortSignal;
}

/**
 * Loads many files, at most `concurrency` at a time; one failure never stops the rest. Results come back in the
 * order of `paths`.
 */
export async function loadImages(paths: readonly string[], opts: LoadImagesOptions = {}): Promise<ImageLoadResult[]> {
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? 4));
  const results = new Array<ImageLoadResult>(paths.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < paths.length) {
      const i = next++;
      const path = paths[i]!;
      if (opts.signal?.aborted) {
        results[i] = { ok: false, path, error: new ImageLoadError(path, 'unreadable', 'cancelled before loading') };
      } else {
        try {
          results[i] = { ok: true, path, image: await loadImage(path, opts) };
        } catch (err) {
          results[i] = { ok: false, path, error: asImageLoadError(err, path) };
        }
      }
      opts.onProgress?.(++done, paths.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return results;
}

/** Options for `makeThumbnail`. */
export interface ThumbnailOptions extends ImageLimits {
  /** 'jpeg' (alpha flattened on white) or 'webp' (alpha kept). Default 'jpeg'. */
  readonly format?: 'jpeg' | 'webp';
  /** Encoder quality 1–100 (default 80). */
  readonly quality?: number;
}

/** A small preview for the UI. */
export interface Thumbnail {
  readonly data: Buffer;
  readonly mime: 'image/jpeg' | 'image/webp';
  readonly width: number;
  readonly height: number;
}

/**
 * A preview that fits inside `size`×`size` (aspect ratio kept, never enlarged, EXIF orientation applied), with
 * the same limits and errors as `loadImage`.
 */
export async function makeThumbnail(path: string, size: number, opts: ThumbnailOptions = {}): Promise<Thumbnail> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`makeThumbnail: size must be a positive integer, got ${size}`);
  const data = await readImageFile(path, opts);
  const header = await readHeader(data, path, opts);
  const format = opts.format ?? 'jpeg';
  const quality = opts.quality ?? 80;
  try {
    let pipeline = sharp(data, { limitInputPixels: opts.maxPixels ?? MAX_INPUT_PIXELS, failOn: 'warning' })
      .rotate()
      .resize(size, size, { fit: 'inside', withoutEnlargement: true })
      .toColourspace('srgb');
    pipeline = format === 'jpeg' ? pipeline.flatten({ background: FLATTEN_BACKGROUND }).jpeg({ quality }) : pipeline.webp({ quality });
    const { data: out, info } = await pipeline.toBuffer({ resolveWithObject: true });
    return { data: out, mime: format === 'jpeg' ? 'image/jpeg' : 'image/webp', width: info.width, height: info.height };
  } catch (err) {
    throw decodeError(err, path, header.format, data);
  }
}

/** Reads an image file's bytes, refusing directories, empty files and files over the size limit (ImageLoadError). */
export async function readImageFile(path: string, limits: ImageLimits = {}): Promise<Uint8Array> {
  const maxBytes = limits.maxFileBytes ?? MAX_FILE_BYTES;
  try {
    const st = await stat(path);
    if (st.isDirectory()) throw new ImageLoadError(path, 'unreadable', 'is a directory, not a file');
    if (!st.isFile()) throw new ImageLoadError(path, 'unreadable', 'not a regular file');
    if (st.size === 0) throw new ImageLoadError(path, 'empty', 'empty file (0 bytes)');
    if (st.size > maxBytes) {
      throw new ImageLoadError(path, 'file-too-large', `file is ${formatBytes(st.size)}, over the ${formatBytes(maxBytes)} limit`);
    }
    const data = await readFile(path);
    if (data.byteLength === 0) throw new ImageLoadError(path, 'empty', 'empty file (0 bytes)');
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } catch (err) {
    throw asImageLoadError(err, path);
  }
}

/** Reads the header only: format, oriented size, and the pixel-limit check. */
async function readHeader(data: Uint8Array, path: string, limits: ImageLimits): Promise<{ format: string; width: number; height: number }> {
  if (data.byteLength === 0) throw new ImageLoadError(path, 'empty', 'empty file (0 bytes)');
  let meta: Metadata;
  try {
    // The header read must not trip the limit itself, so that the message below can give the size.
    meta = await sharp(data, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw decodeError(err, path, undefined, data);
  }
  const format = meta.format ?? 'unknown';
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (width <= 0 || height <= 0) throw new ImageLoadError(path, 'corrupt', `${format.toUpperCase()} header gives no image size`);
  const maxPixels = limits.maxPixels ?? MAX_INPUT_PIXELS;
  if (width * height > maxPixels) {
    throw new ImageLoadError(path, 'too-many-pixels', `${width}×${height} px exceeds the ${formatMegapixels(maxPixels)} limit`);
  }
  const swap = (meta.orientation ?? 1) >= 5;
  return { format, width: swap ? height : width, height: swap ? width : height };
}

/**
 * Turns a sharp/libvips failure into a one-line ImageLoadError. Truncation is judged from the bytes themselves
 * (libvips' error text is shared between threads, so under concurrent decoding it can be another file's, or a bare
 * "Warning treated as error").
 */
function decodeError(err: unknown, path: string, format: string | undefined, data?: Uint8Array): ImageLoadError {
  if (err instanceof ImageLoadError) return err;
  const message = firstLine(err);
  const kind = (format ?? (data ? sniffFormat(data) : undefined) ?? '').toUpperCase();
  if (/buffer is empty/i.test(message)) return new ImageLoadError(path, 'empty', 'empty file (0 bytes)');
  if (/exceeds pixel limit/i.test(message)) return new ImageLoadError(path, 'too-many-pixels', 'image exceeds the pixel limit');
  if (data && isTruncated(data)) return new ImageLoadError(path, 'truncated', `truncated ${kind}`);
  if (/unsupported image format/i.test(message) && !kind) {
    return new ImageLoadError(path, 'not-an-image', data && looksLikeText(data) ? 'not an image (file content is text)' : 'not an image (unrecognised file format)');
  }
  if (/warning treated as error/i.test(message)) return new ImageLoadError(path, 'corrupt', `corrupt ${kind || 'image'} data`);
  const detail = message.replace(/^Input (file|buffer) (has corrupt header|contains unsupported image format):?\s*/i, '').replace(/^\w+:\s*/, '');
  const what = /corrupt header/i.test(message) ? `${kind || 'image'} header` : kind || 'image';
  return new ImageLoadError(path, 'corrupt', `corrupt ${what}${detail ? ` (${detail})` : ''}`);
}

/** The format named by a file's magic bytes, for the formats whose truncation `isTruncated` can see. */
function sniffFormat(data: Uint8Array): 'jpeg' | 'png' | 'gif' | 'webp' | undefined {
  const b = data;
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (ascii(b, 0, 4) === 'GIF8') return 'gif';
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return 'webp';
  return undefined;
}

/** True when a JPEG/PNG/GIF/WebP file stops before its end marker (or before the length its header declares). */
function isTruncated(data: Uint8Array): boolean {
  const tail = data.subarray(Math.max(0, data.length - 4096));
  switch (sniffFormat(data)) {
    case 'jpeg':
      for (let i = tail.length - 2; i >= 0; i--) if (tail[i] === 0xff && tail[i + 1] === 0xd9) return false;
      return true;
    case 'png':
      return !ascii(tail, 0, tail.length).includes('IEND');
    case 'gif': {
      let end = data.length - 1;
      while (end > 0 && data[end] === 0) end--;
      return data[end] !== 0x3b;
    }
    case 'webp':
      return data.length >= 8 && new DataView(data.buffer, data.byteOffset, 8).getUint32(4, true) + 8 > data.length;
    default:
      return false;
  }
}

function ascii(b: Uint8Array, from: number, to: number): string {
  return String.fromCharCode(...b.subarray(from, Math.min(to, b.length)));
}

/** File-system errors and anything unexpected, as one line. */
function asImageLoadError(err: unknown, path: string): ImageLoadError {
  if (err instanceof ImageLoadError) return err;
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOENT') return new ImageLoadError(path, 'not-found', 'file not found');
  if (code === 'EACCES' || code === 'EPERM') return new ImageLoadError(path, 'unreadable', 'permission denied');
  if (code === 'EISDIR') return new ImageLoadError(path, 'unreadable', 'is a directory, not a file');
  if (code === 'ELOOP') return new ImageLoadError(path, 'unreadable', 'symbolic link loop (it leads back to itself)');
  return new ImageLoadError(path, 'unreadable', `cannot read: ${firstLine(err)}`);
}

/** True when the first bytes are valid UTF-8 without control characters other than whitespace. */
function looksLikeText(data: Uint8Array): boolean {
  const head = data.subarray(0, 512);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head);
  } catch {
    // A multi-byte character cut at the 512-byte boundary is still text; anything else is not.
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, Math.max(0, head.length - 3)));
    } catch {
      return false;
    }
  }
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text.replace(/^\ufeff/, ''));
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n')[0] ?? '').trim();
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Math.round((n / (1024 * 1024)) * 10) / 10} MB`;
  if (n >= 1024) return `${Math.round((n / 1024) * 10) / 10} kB`;
  return `${n} bytes`;
}

function formatMegapixels(n: number): string {
  return `${Math.round((n / 1e6) * 100) / 100} MP`;
}
