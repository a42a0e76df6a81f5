/**
 * Finds which format a dataset path is in, and which file to read.
 *
 * A file: `.json` → COCO (`images[]` + `annotations[]`) or Karpathy (`images[].sentences[]`); `.csv`/`.tsv` →
 * CSV; `.txt` → Flickr8k when its first line is `image.jpg#n<TAB>caption`, else CSV (the header-less
 * `image.jpg, caption` form). A folder: an annotation file at its top level wins (Karpathy, then COCO, then a
 * Flickr8k token file — the non-lemmatised one —, then a CSV); without one, the folder is a sidecar-captioned
 * image folder. A folder whose images have their own sidecar caption files is read as sidecars even when an
 * annotation file lies beside them (e.g. a CSV exported into it): those are hand-written references, and the other
 * files are named in `otherSources` so the reader can say so. Two annotation files of the same kind are
 * ambiguous: the error names them. A `format` given by the caller skips the guessing (for a folder it still picks
 * the file of that format inside it).
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { DatasetFormat } from '../dataset-types.ts';
import { fileError, isImageName, parseJsonFile } from './common.ts';
import { looksLikeCoco } from './coco.ts';
import { IMAGE_COLUMN_NAMES } from './csv.ts';
import { looksLikeFlickr8k } from './flickr8k.ts';
import { looksLikeKarpathy } from './karpathy.ts';

/** A detected format and the file (or folder, for sidecar) to read it from. */
export interface DetectedFormat {
  readonly format: DatasetFormat;
  readonly path: string;
  /** Annotation files in the folder that were not read because its sidecar captions were preferred. */
  readonly otherSources?: readonly string[];
}

const SNIFF_BYTES = 64 * 1024;

async function head(file: string, bytes = SNIFF_BYTES): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead).toString('utf8').replace(/^\uFEFF/, '');
  } finally {
    await handle.close();
  }
}

/** COCO or Karpathy from the first bytes of a JSON file; undefined when the start does not tell. */
function sniffJson(start: string): 'coco' | 'karpathy' | undefined {
  if (/"file_name"\s*:/.test(start) || /"annotations"\s*:/.test(start)) return 'coco';
  if (/"sentences"\s*:/.test(start) || /"filename"\s*:/.test(start)) return 'karpathy';
  return undefined;
}

async function jsonFormat(file: string, confirm: boolean): Promise<'coco' | 'karpathy' | undefined> {
  const sniffed = sniffJson(await head(file));
  if (sniffed !== undefined || !confirm) return sniffed;
  const json = parseJsonFile(file, await readFile(file, 'utf8'));
  if (looksLikeCoco(json)) return 'coco';
  if (looksLikeKarpathy(json)) return 'karpathy';
  return undefined;
}

/** True when the first line of a text file is a CSV header naming an image column, or `image.jpg<delim>…`. */
function looksLikeCsv(start: string): boolean {
  const first = start.split(/\r\n|\n|\r/).find((line) => line.trim() !== '') ?? '';
  const cells = first.split(/[,\t;|]/).map((cell) => cell.trim().replace(/^"|"$/g, '').toLowerCase().replace(/[\s-]+/g, '_'));
  if (cells.length < 2) return false;
  return cells.some((cell) => (IMAGE_COLUMN_NAMES as readonly string[]).includes(cell)) || isImageName(cells[0]!);
}

/** The format of one file, or undefined when it is not a dataset file. */
async function fileFormat(file: string, confirm: boolean): Promise<DatasetFormat | undefined> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.json') return jsonFormat(file, confirm);
  if (ext === '.csv' || ext === '.tsv' || ext === '.tab') return confirm || looksLikeCsv(await head(file)) ? 'csv' : undefined;
  const start = await head(file);
  if (looksLikeFlickr8k(start)) return 'flickr8k';
  if (looksLikeCsv(start)) return 'csv';
  return undefined;
}

const FOLDER_PRIORITY: readonly DatasetFormat[] = ['karpathy', 'coco', 'flickr8k', 'csv'];

/** The annotation files at the top of a folder, by format, and how many of its images have a sidecar caption file. */
async function folderCandidates(dir: string): Promise<{ found: Map<DatasetFormat, string[]>; sidecars: number }> {
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && !e.name.startsWith('.')).map((e) => e.name).sort();
  const imageStems = new Set(names.filter(isImageName).map((name) => name.slice(0, name.length - path.extname(name).length)));
  const found = new Map<DatasetFormat, string[]>();
  let sidecars = 0;
  for (const name of names) {
    const ext = path.extname(name).toLowerCase();
    const isSidecar = (ext === '.txt' || ext === '.caption') && imageStems.has(name.slice(0, -ext.length));
    if (isSidecar) sidecars++;
    if (isSidecar || !['.json', '.csv', '.tsv', '.tab', '.txt'].includes(ext)) continue; // a sidecar is not an annotation file
    const format = await fileFormat(path.join(dir, name), false).catch(() => undefined);
    if (format !== undefined) found.set(format, [...(found.get(format) ?? []), path.join(dir, name)]);
  }
  const tokens = found.get('flickr8k');
  if (tokens && tokens.length > 1) {
    const plain = tokens.filter((file) => !/lemma/i.test(path.basename(file)));
    if (plain.length > 0) found.set('flickr8k', plain);
  }
  return { found, sidecars };
}

/** Detects the format of a dataset file or folder (see the module comment); `format` forces one. */
export async function detectFormat(target: string, format?: DatasetFormat): Promise<DetectedFormat> {
  const resolved = path.resolve(target);
  let info;
  try {
    info = await stat(resolved);
  } catch {
    throw fileError(resolved, 'no such file or folder');
  }
  if (!info.isDirectory()) {
    if (format === 'sidecar') throw fileError(resolved, 'the sidecar format reads a folder, not a file');
    if (format !== undefined) return { format, path: resolved };
    const detected = await fileFormat(resolved, true);
    if (detected === undefined) {
      throw fileError(resolved, 'unknown dataset format (expected COCO or Karpathy JSON, CSV/TSV, a Flickr8k token file, or a folder of images)');
    }
    return { format: detected, path: resolved };
  }
  if (format === 'sidecar') return { format, path: resolved };
  const { found: candidates, sidecars } = await folderCandidates(resolved);
  if (format === undefined && sidecars > 0 && candidates.size > 0) {
    return { format: 'sidecar', path: resolved, otherSources: [...candidates.values()].flat().sort() };
  }
  const order = format === undefined ? FOLDER_PRIORITY : [format];
  for (const kind of order) {
    const files = candidates.get(kind) ?? [];
    if (files.length === 1) return { format: kind, path: files[0]! };
    if (files.length > 1) {
      throw fileError(resolved, `several ${kind} files here (${files.map((f) => path.basename(f)).join(', ')}); name the one to read`);
    }
  }
  if (format !== undefined) throw fileError(resolved, `no ${format} annotation file in this folder`);
  return { format: 'sidecar', path: resolved };
}
