/**
 * CSV / TSV captions: a header naming an image column (`image`, `file`, `filename`, `path`, `image_path`…) and a
 * caption column (`caption`, `text`, `description`…), case-insensitive, optionally a `split` column; several rows
 * per image allowed. Also the header-less `image.jpg, caption` / `image.jpg<TAB>caption` text form, where every
 * cell after the first is part of the caption. The delimiter (comma, tab, semicolon or pipe) is sniffed from the
 * first line; RFC 4180 quoting, a UTF-8 BOM, UTF-16 text (Excel's "Unicode text") and CRLF are accepted.
 * Image names are resolved against `imagesDir` when given, else the file's folder, then its `images/` subfolder.
 *
 * Saving rewrites only the rows whose captions changed (other rows keep their exact bytes, other columns
 * their values, rows their order); new captions become new rows after the image's last row.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import type { CaptionEdit, Dataset, ReadOptions, Split } from '../dataset-types.ts';
import {
  beginSave,
  checkEdits,
  fileError,
  IMAGE_EXTENSIONS,
  isImageName,
  ItemCollector,
  ListEditor,
  makeDataset,
  parseSplitName,
  readOptionsOf,
  planEdit,
  type CollectedItems,
} from './common.ts';

/** Header names recognised for the image column (compared lower-case, spaces and hyphens as '_'). */
export const IMAGE_COLUMN_NAMES = [
  'image', 'images', 'file', 'filename', 'file_name', 'path', 'filepath', 'file_path', 'image_path', 'imagepath',
  'image_file', 'image_name', 'imagename', 'img', 'img_path',
] as const;
/** Header names recognised for the caption column. */
export const CAPTION_COLUMN_NAMES = ['caption', 'captions', 'text', 'description', 'sentence', 'comment', 'raw', 'alt_text'] as const;
/** Header names recognised for an optional split column. */
export const SPLIT_COLUMN_NAMES = ['split', 'set', 'subset', 'partition'] as const;

type Delimiter = ',' | '\t' | ';' | '|';
const DELIMITERS: readonly Delimiter[] = [',', '\t', ';', '|'];

interface CsvRecord {
  readonly fields: string[];
  /** Byte range of the record in the BOM-less UTF-8 text, including blank lines before it and its line ending. */
  readonly start: number;
  readonly end: number;
  /** 1-based line where the record starts. */
  readonly line: number;
}

interface CsvLayout {
  readonly delimiter: Delimiter;
  readonly eol: '\n' | '\r\n';
  readonly headerless: boolean;
  readonly columns: number;
  readonly imageColumn: number;
  readonly captionColumn: number;
  readonly splitColumn: number | undefined;
}

interface ParsedCsv {
  readonly encoding: 'utf8' | 'utf16le';
  readonly bom: boolean;
  readonly body: Buffer;
  readonly records: CsvRecord[];
  readonly layout: CsvLayout;
  readonly collected: CollectedItems<number>;
}

function headerKey(cell: string): string {
  return cell.trim().toLowerCase().replace(/[\s-]+/g, '_');
}

/** The text of a CSV file as UTF-8 bytes without BOM, and how it was encoded. */
function decode(raw: Buffer): { encoding: 'utf8' | 'utf16le'; bom: boolean; body: Buffer } {
  if (raw[0] === 0xff && raw[1] === 0xfe) return { encoding: 'utf16le', bom: true, body: Buffer.from(raw.subarray(2).toString('utf16le'), 'utf8') };
  if (raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf) return { encoding: 'utf8', bom: true, body: raw.subarray(3) };
  return { encoding: 'utf8', bom: false, body: raw };
}

const LEADING_IMAGE = new RegExp(
  `^\\s*"?[^"\\t,;|]*?(?:${[...IMAGE_EXTENSIONS].map((e) => e.replace('.', '\\.')).join('|')})"?\\s*([\\t,;|])`,
  'i',
);

/** The delimiter: the one right after a leading image name (header-less form), else the commonest in line 1. */
function sniffDelimiter(firstLine: string, file: string): Delimiter {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.tsv' || ext === '.tab') return '\t';
  const afterImage = LEADING_IMAGE.exec(firstLine)?.[1];
  if (afterImage !== undefined) return afterImage as Delimiter;
  let best: Delimiter = ',';
  let bestCount = 0;
  for (const d of DELIMITERS) {
    const count = firstLine.split(d).length - 1;
    if (count > bestCount) {
      best = d;
      bestCount = count;
    }
  }
  return best;
}

function findColumn(keys: readonly string[], names: readonly string[]): number | undefined {
  for (const name of names) {
    const i = keys.indexOf(name);
    if (i >= 0) return i;
  }
  return undefined;
}

async function parseCsv(file: string, opts: ReadOptions): Promise<ParsedCsv> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (err) {
    throw fileError(file, `cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { encoding, bom, body } = decode(raw);
  const start = body.subarray(0, 64 * 1024).toString('utf8');
  const firstLine = start.split(/\r\n|\n|\r/).find((line) => line.trim() !== '') ?? '';
  if (firstLine === '') throw fileError(file, 'empty CSV file');
  const delimiter = sniffDelimiter(firstLine, file);
  const eol = /\r\n/.test(start.slice(0, start.search(/\n/) + 1)) ? '\r\n' : '\n';

  let parsed: { record: string[]; info: { bytes: number } }[];
  try {
    parsed = parse(body, {
      delimiter,
      info: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
    }) as unknown as { record: string[]; info: { bytes: number } }[];
  } catch (err) {
    throw fileError(file, `invalid CSV: ${err instanceof Error ? err.message : String(err)}`);
  }
  const records: CsvRecord[] = [];
  let offset = 0;
  let line = 1;
  for (const { record, info } of parsed) {
    let first = offset;
    // Blank lines skipped before this record belong to its byte range but not to its first line.
    while (first < info.bytes && (body[first] === 0x0a || body[first] === 0x0d)) {
      if (body[first] === 0x0a || body[first + 1] !== 0x0a) line++;
      first++;
    }
    records.push({ fields: record, start: offset, end: info.bytes, line });
    for (let i = first; i < info.bytes; i++) if (body[i] === 0x0a) line++;
    offset = info.bytes;
  }

  const header = records[0]?.fields ?? [];
  const keys = header.map(headerKey);
  const imageColumn = findColumn(keys, IMAGE_COLUMN_NAMES);
  let layout: CsvLayout;
  if (imageColumn !== undefined) {
    const captionColumn = findColumn(keys, CAPTION_COLUMN_NAMES);
    if (captionColumn === undefined) {
      throw fileError(file, `no caption column in the header (expected one of: ${CAPTION_COLUMN_NAMES.join(', ')})`);
    }
    layout = { delimiter, eol, headerless: false, columns: header.length, imageColumn, captionColumn, splitColumn: findColumn(keys, SPLIT_COLUMN_NAMES) };
  } else if (isImageName(header[0]?.trim() ?? '') && header.length >= 2) {
    layout = { delimiter, eol, headerless: true, columns: 2, imageColumn: 0, captionColumn: 1, splitColumn: undefined };
  } else {
    throw fileError(
      file,
      `no image column in the header (expected one of: ${IMAGE_COLUMN_NAMES.join(', ')}) and line 1 is not the header-less 'image.jpg${delimiter === '\t' ? '<TAB>' : delimiter} caption' form`,
    );
  }

  const dir = path.dirname(file);
  const collector = new ItemCollector<number>(opts);
  records.forEach((record, index) => {
    if (index === 0 && !layout.headerless) return;
    const where = { path: file, line: record.line };
    if (record.fields.every((cell) => cell.trim() === '')) return; // a blank row
    const imageCell = record.fields[layout.imageColumn]?.trim() ?? '';
    if (imageCell === '') {
      collector.problem('invalid-entry', where, `no image name; row skipped`);
      return;
    }
    if (!layout.headerless && record.fields.length <= layout.captionColumn) {
      collector.problem('invalid-entry', where, `${record.fields.length} cells, the caption column is number ${layout.captionColumn + 1}; row skipped`);
      return;
    }
    let split: Split | undefined;
    if (layout.splitColumn !== undefined) {
      const value = record.fields[layout.splitColumn]?.trim() ?? '';
      split = parseSplitName(value);
      if (split === undefined && value !== '') {
        collector.problem('invalid-entry', where, `unknown split '${value}' ignored`);
      }
    }
    const id = imageId(imageCell);
    const candidates = path.isAbsolute(imageCell)
      ? [imageCell]
      : opts.imagesDir !== undefined
        ? [path.resolve(opts.imagesDir, imageCell)]
        : [path.resolve(dir, imageCell), path.resolve(dir, 'images', imageCell)];
    collector.image(id, candidates, where, { repeatsAllowed: true, anchor: index, ...(split === undefined ? {} : { split }) });
    collector.caption(id, captionOf(record.fields, layout), index, where);
  });
  return { encoding, bom, body, records, layout, collected: await collector.finish() };
}

/** The id of an image named in a cell: its normalised relative path (or the absolute path as given). */
function imageId(cell: string): string {
  const posix = cell.replace(/\\/g, '/');
  return path.isAbsolute(cell) ? posix : path.posix.normalize(posix).replace(/^\.\//, '');
}

/** The caption of a row; in the header-less form every cell after the first, rejoined, with outer quotes removed. */
function captionOf(fields: readonly string[], layout: CsvLayout): string {
  if (!layout.headerless) return fields[layout.captionColumn] ?? '';
  const joined = fields.slice(1).join(layout.delimiter).trim();
  const quoted = /^"((?:[^"]|"")*)"$/.exec(joined);
  return quoted ? quoted[1]!.replace(/""/g, '"') : joined;
}

/** Reads a CSV/TSV (or header-less caption text) file. */
export async function readCsv(file: string, opts: ReadOptions = {}): Promise<Dataset> {
  const source = path.resolve(file);
  const { collected } = await parseCsv(source, opts);
  return makeDataset('csv', source, opts, collected);
}

/** Writes edited captions back into the CSV (see the module comment for what is preserved). */
export async function saveCsv(dataset: Dataset, edits: readonly CaptionEdit[]): Promise<void> {
  const before = await beginSave(dataset.source);
  const parsed = await parseCsv(dataset.source, readOptionsOf(dataset));
  const { records, layout, body } = parsed;
  const cleaned = checkEdits(dataset, parsed.collected.items, edits);
  const render = (fields: readonly string[]): string => stringify([fields], { delimiter: layout.delimiter, eof: false });
  const rowWith = (fields: readonly string[], caption: string): string[] => {
    if (layout.headerless) return [fields[0] ?? '', caption];
    const out = [...fields];
    while (out.length <= layout.captionColumn) out.push('');
    out[layout.captionColumn] = caption;
    return out;
  };

  const editor = new ListEditor<string>();
  for (const [id, captions] of cleaned) {
    const plan = planEdit(parsed.collected, id, captions);
    for (const { loc, caption } of plan.replace) {
      const record = records[loc]!;
      const original = body.subarray(record.start, record.end).toString('utf8');
      const lead = /^(?:\r\n|\n|\r)*/.exec(original)![0];
      const term = /(?:\r\n|\n|\r)?$/.exec(original)![0];
      editor.replace(loc, lead + render(rowWith(record.fields, caption)) + term);
    }
    for (const loc of plan.remove) {
      // Blank lines before a removed row stay.
      const record = records[loc]!;
      const lead = /^(?:\r\n|\n|\r)*/.exec(body.subarray(record.start, record.end).toString('utf8'))![0];
      if (lead === '') editor.remove(loc);
      else editor.replace(loc, lead);
    }
    const anchor = parsed.collected.anchors.get(id);
    const template = anchor === undefined ? undefined : records[anchor];
    const imageCell = template?.fields[layout.imageColumn] ?? id;
    const blank = new Array<string>(layout.columns).fill('');
    blank[layout.imageColumn] = imageCell;
    editor.insertAfter(anchor, plan.add.map((caption) => render(rowWith(blank, caption))));
  }

  const segments = records.map((record) => body.subarray(record.start, record.end).toString('utf8'));
  const tail = body.subarray(records.at(-1)?.end ?? 0).toString('utf8');
  const endsWithEol = (t: string): boolean => /(?:\r\n|\n|\r)$/.test(t);
  // Every row ends with a line ending, except the last when the original's last row had none.
  let text = editor.apply(segments).map((segment) => (endsWithEol(segment) ? segment : segment + layout.eol)).join('');
  if (segments.length > 0 && !endsWithEol(segments.at(-1)!)) text = text.replace(/(?:\r\n|\n|\r)$/, '');
  text += tail;
  const out = parsed.encoding === 'utf16le'
    ? Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')])
    : Buffer.concat([parsed.bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(text, 'utf8')]);
  await writeFileAtomic(dataset.source, out, { unchangedSince: before });
}
