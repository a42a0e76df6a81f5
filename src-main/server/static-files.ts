/**
 * Serves the built renderer (`out/renderer`): only files below its folder, with the right content types, and
 * `index.html` for the root. Hashed assets are cached for a long time, the page itself never.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isInside } from '../services/media-access.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8',
};

/** A content type by file extension (octet-stream when unknown). */
export function contentType(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export interface StaticFile {
  readonly data: Buffer;
  readonly type: string;
  readonly cacheControl: string;
}

/** The file for a URL path, or null when there is none (or it would be outside `root`). */
export async function readStatic(root: string, urlPath: string): Promise<StaticFile | null> {
  let rel: string;
  try {
    rel = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (rel.includes('\0')) return null;
  if (rel === '/' || rel === '') rel = '/index.html';
  const realRoot = await realpath(root);
  let file: string;
  try {
    file = await realpath(path.join(realRoot, rel));
  } catch {
    return null;
  }
  if (!isInside(realRoot, file) || !(await stat(file)).isFile()) return null;
  const hashed = /[.-][A-Za-z0-9_-]{8,}\.(js|css|woff2|svg|png)$/.test(file);
  return {
    data: await readFile(file),
    type: contentType(file),
    cacheControl: hashed ? 'private, max-age=31536000, immutable' : 'no-cache',
  };
}
