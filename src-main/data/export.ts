/**
 * Writing captions out: CSV (for spreadsheets), JSON Lines, sidecar caption files beside the images, or the COCO
 * results format (`[{image_id, caption}]`, what the COCO caption evaluation reads). Every file is written
 * atomically.
 *
 * - csv: columns `path,caption,score,model` (+ `references` when rows carry them, one per line in the cell),
 *   UTF-8, RFC 4180 (CRLF records; fields with commas, quotes or line breaks quoted), optional BOM so Excel reads
 *   UTF-8. Text cells starting with `=`, `+`, `-`, `@`, tab or CR are prefixed with `'` so a spreadsheet shows them
 *   as text instead of running them as formulas (OWASP "CSV injection"); scores are numbers and never touched.
 * - jsonl: one `{"path","caption","score","model"}` object per line (+ `references`).
 * - sidecar: `name.txt` (or `.caption`) beside each image, one caption per line (rows for the same image become
 *   several lines, in order). An image that already has a caption file (`name.txt` or `name.caption`) is skipped
 *   unless `overwrite` is set, because the file may hold hand-written reference captions; with `overwrite` the
 *   existing file is replaced (never a second one written beside it, which would hide it from the readers).
 *   Images whose captions are all empty get no file and are reported as skipped.
 * - coco-results: `image_id` is the row's `imageId`, else the number at the end of the file name
 *   (`COCO_val2014_000000391895.jpg` → 391895); rows without one, and second captions of an image, are skipped.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { pathExists } from '../util/path-exists.ts';
import { SIDECAR_EXTENSIONS } from './formats/sidecar.ts';
import { EXPORT_FORMATS, type ExportFormat } from './export-formats.ts';

/** One caption to export. */
export interface ExportRow {
  /** The image file. */
  readonly path: string;
  readonly caption: string;
  /** The model's score (log-probability or similar); absent for reference captions. */
  readonly score?: number | null;
  /** Which model wrote it. */
  readonly model?: string;
  /** The dataset's reference captions for this image, when asked for. */
  readonly references?: readonly string[];
  /** COCO image id, for coco-results. */
  readonly imageId?: number | string;
}

export { EXPORT_FORMATS, type ExportFormat };

export interface ExportOptions {
  readonly format: ExportFormat;
  /** Output file (csv, jsonl, coco-results); sidecar writes beside the images instead. */
  readonly out?: string;
  /** csv: start with a UTF-8 BOM (Excel then reads the file as UTF-8). Default false. */
  readonly bom?: boolean;
  /** csv: neutralise formula-like cells (default true). */
  readonly neutralizeFormulas?: boolean;
  /** sidecar: replace existing caption files (default false: skip them and report). */
  readonly overwrite?: boolean;
  /** sidecar: the caption file extension (default '.txt'). */
  readonly sidecarExtension?: '.txt' | '.caption';
}

/** What an export did. */
export interface ExportReport {
  readonly format: ExportFormat;
  /** Files written. */
  readonly written: readonly string[];
  /** Rows written. */
  readonly rows: number;
  /** Rows (or images, for sidecar) left out, with the reason. */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}

const FORMULA_START = /^[=+\-@\t\r]/;

/** Prefixes `'` to text a spreadsheet would run as a formula (starts with = + - @ tab or CR). */
export function neutralizeFormula(cell: string): string {
  return FORMULA_START.test(cell) ? `'${cell}` : cell;
}

const hasReferences = (rows: readonly ExportRow[]): boolean => rows.some((row) => row.references !== undefined);

/** The CSV text of rows (see the module comment). */
export function toCsv(rows: readonly ExportRow[], opts: { bom?: boolean; neutralizeFormulas?: boolean } = {}): string {
  const safe = opts.neutralizeFormulas === false ? (s: string) => s : neutralizeFormula;
  const withReferences = hasReferences(rows);
  const header = ['path', 'caption', 'score', 'model', ...(withReferences ? ['references'] : [])];
  const records = rows.map((row) => [
    safe(row.path),
    safe(row.caption),
    row.score === undefined || row.score === null ? '' : String(row.score),
    safe(row.model ?? ''),
    ...(withReferences ? [safe((row.references ?? []).join('\n'))] : []),
  ]);
  const body = stringify([header, ...records], { record_delimiter: 'windows', quoted_match: /[\r\n]/ });
  return (opts.bom ? '\uFEFF' : '') + body;
}

/** JSON Lines: one object per row. */
export function toJsonl(rows: readonly ExportRow[]): string {
  return rows
    .map((row) =>
      JSON.stringify({
        path: row.path,
        caption: row.caption,
        score: row.score ?? null,
        model: row.model ?? null,
        ...(row.references === undefined ? {} : { references: row.references }),
      }),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** The COCO image id of a row: its `imageId`, else the digits ending the file name; undefined if neither. */
export function cocoImageId(row: ExportRow): number | string | undefined {
  if (row.imageId !== undefined) return typeof row.imageId === 'string' && /^\d+$/.test(row.imageId) ? Number(row.imageId) : row.imageId;
  const digits = /(\d+)$/.exec(path.basename(row.path, path.extname(row.path)))?.[1];
  return digits === undefined ? undefined : Number(digits);
}

/** The COCO results list: one `{image_id, caption}` per image (its first row), and the rows left out. */
export function toCocoResults(rows: readonly ExportRow[]): { results: { image_id: number | string; caption: string }[]; skipped: { path: string; reason: string }[] } {
  const results: { image_id: number | string; caption: string }[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const seen = new Set<number | string>();
  for (const row of rows) {
    const id = cocoImageId(row);
    if (id === undefined) skipped.push({ path: row.path, reason: 'no COCO image id (no imageId and no number at the end of the file name)' });
    else if (seen.has(id)) skipped.push({ path: row.path, reason: `image_id ${id} already has a caption` });
    else {
      seen.add(id);
      results.push({ image_id: id, caption: row.caption });
    }
  }
  return { results, skipped };
}

async function exportSidecars(rows: readonly ExportRow[], opts: ExportOptions): Promise<ExportReport> {
  const ext = opts.sidecarExtension ?? '.txt';
  const byImage = new Map<string, string[]>();
  for (const row of rows) {
    const image = path.resolve(row.path);
    byImage.set(image, [...(byImage.get(image) ?? []), row.caption.replace(/\s*[\r\n]+\s*/g, ' ').trim()]);
  }
  const written: string[] = [];
  const skipped: { path: string; reason: string }[] = [];
  let count = 0;
  for (const [image, captions] of byImage) {
    const stem = image.slice(0, image.length - path.extname(image).length);
    // The caption file the readers use (the first in SIDECAR_EXTENSIONS order), whatever `ext` is asked for.
    let existing: string | undefined;
    for (const e of SIDECAR_EXTENSIONS) {
      if (await pathExists(stem + e)) {
        existing = stem + e;
        break;
      }
    }
    const lines = captions.filter((c) => c !== '');
    if (!(await pathExists(image))) {
      skipped.push({ path: image, reason: 'image file not found' });
    } else if (existing && !opts.overwrite) {
      skipped.push({ path: existing, reason: 'caption file exists (overwrite not set)' });
    } else if (lines.length === 0) {
      skipped.push({ path: image, reason: 'empty caption; no caption file written' });
    } else {
      const target = existing ?? stem + ext;
      await writeFileAtomic(target, `${lines.join('\n')}\n`);
      written.push(target);
      count += lines.length;
    }
  }
  return { format: 'sidecar', written, rows: count, skipped };
}

/**
 * Refuses, before any captioning, an output file that would fail or destroy an input: an existing folder, or a
 * file that is also one of the inputs (e.g. the dataset CSV being captioned). One-line Error naming it.
 */
export async function checkExportOutput(out: string, inputs: readonly string[]): Promise<void> {
  const target = path.resolve(out);
  if ((await stat(target).catch(() => null))?.isDirectory()) throw new Error(`${target}: is a folder; the export needs a file name`);
  const real = (p: string): Promise<string> => realpath(p).catch(() => path.resolve(p));
  const outReal = await real(target);
  for (const input of inputs) {
    if ((await real(input)) === outReal) throw new Error(`${target}: is also an input of this export; choose another output file`);
  }
}

/** Writes rows in the chosen format (see the module comment); one-line Error on a bad option or write failure. */
export async function exportCaptions(rows: readonly ExportRow[], opts: ExportOptions): Promise<ExportReport> {
  if (opts.format === 'sidecar') return exportSidecars(rows, opts);
  if (!opts.out) throw new Error(`export: the ${opts.format} format needs an output file`);
  const out = path.resolve(opts.out);
  switch (opts.format) {
    case 'csv':
      await writeFileAtomic(out, toCsv(rows, opts));
      return { format: 'csv', written: [out], rows: rows.length, skipped: [] };
    case 'jsonl':
      await writeFileAtomic(out, toJsonl(rows));
      return { format: 'jsonl', written: [out], rows: rows.length, skipped: [] };
    case 'coco-results': {
      const { results, skipped } = toCocoResults(rows);
      await writeFileAtomic(out, `${JSON.stringify(results)}\n`);
      return { format: 'coco-results', written: [out], rows: results.length, skipped };
    }
  }
}
