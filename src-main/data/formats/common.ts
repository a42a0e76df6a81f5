/**
 * What the format readers and writers share: collecting entries into items (merging repeats, dropping empty and
 * duplicate captions, checking image files exist), line-file handling that keeps BOM and line endings, the
 * positional plan that maps a caption edit onto the entries it came from, and one-line errors.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { removeStaleTempFiles } from '../../util/atomic-write.ts';
import { fileIdentity, type FileIdentity } from '../../util/file-identity.ts';
import { mapLimit } from '../../util/map-limit.ts';
import { IMAGE_MIME_TYPES } from '../../util/image-files.ts';
import type { CaptionEdit, Dataset, DatasetItem, DatasetProblem, ProblemKind, ReadOptions, Split } from '../dataset-types.ts';

/** File extensions read as images (what libvips/sharp decodes), lower case with the dot. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(Object.keys(IMAGE_MIME_TYPES));

/** True when the file name has an image extension. */
export function isImageName(name: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase());
}

/** An Error whose message is one line naming the file and the reason. */
export function fileError(file: string, reason: string): Error {
  return new Error(`${file}: ${reason.replace(/\s*[\r\n]+\s*/g, ' ').trim()}`);
}

/** A dataset file's text (UTF-8), or a one-line error naming it when it cannot be read. */
/**
 * A one-file save's first step: removes the temporary files that killed saves of `file` left beside it, and
 * returns what the file is now, for the write to check again right before it renames over it.
 */
export async function beginSave(file: string): Promise<FileIdentity | null> {
  await removeStaleTempFiles(path.dirname(file), path.basename(file));
  return fileIdentity(file);
}

export async function readTextFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw fileError(file, `cannot read: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Where an entry was read from, for problem reports. */
export interface Where {
  readonly path: string;
  readonly line?: number;
}

function describe(where: Where): string {
  return where.line === undefined ? path.basename(where.path) : `${path.basename(where.path)} line ${where.line}`;
}

/** A path with forward slashes, so ids are the same on every OS. */
export function toPosixId(relative: string): string {
  return relative.split(path.sep).join('/');
}

interface PendingItem<L> {
  readonly id: string;
  readonly candidates: readonly string[];
  readonly where: Where;
  split: Split | undefined;
  captions: string[];
  /** The same captions as a set: the duplicate check stays linear in captions per image. */
  readonly seen: Set<string>;
  locations: L[];
  duplicates: L[];
  anchor: L | undefined;
}

/** Items plus, per item id, where each kept caption lives in the source and the last entry naming the image. */
export interface CollectedItems<L> {
  readonly items: DatasetItem[];
  readonly byId: ReadonlyMap<string, DatasetItem>;
  readonly problems: DatasetProblem[];
  readonly locations: ReadonlyMap<string, readonly L[]>;
  /** Where the dropped exact-duplicate captions of each item are (removed when the item is edited). */
  readonly duplicates: ReadonlyMap<string, readonly L[]>;
  readonly anchors: ReadonlyMap<string, L>;
}

/**
 * Gathers a format's entries into dataset items. `L` is the format's own address of a caption (a line number, a
 * row index, an annotation index…) so that `saveDataset` can put an edit back where the caption came from.
 */
export class ItemCollector<L> {
  private readonly pending = new Map<string, PendingItem<L>>();
  readonly problems: DatasetProblem[] = [];

  /** `keepDuplicateCaptions`: keep exact-duplicate captions instead of dropping and reporting them. */
  constructor(private readonly opts: ReadOptions = {}) {}

  /** Reports a problem directly (for entries a format cannot even turn into an image reference). */
  problem(kind: ProblemKind, where: Where, reason: string): void {
    this.problems.push(where.line === undefined ? { kind, path: where.path, reason } : { kind, path: where.path, line: where.line, reason });
  }

  /**
   * Declares an image. `candidates` are the absolute paths it may be at, tried in order. A second declaration of
   * the same id is normal for row formats (`repeatsAllowed`); otherwise it is reported as a duplicate entry
   * (its captions are still merged into the first).
   */
  image(id: string, candidates: readonly string[], where: Where, opts: { split?: Split; repeatsAllowed: boolean; anchor?: L }): void {
    const existing = this.pending.get(id);
    if (existing) {
      if (!opts.repeatsAllowed) {
        this.problem('duplicate-entry', where, `image '${id}' is listed again (first at ${describe(existing.where)}); its captions are merged`);
      }
      if (opts.split !== undefined && existing.split !== undefined && opts.split !== existing.split) {
        this.problem('invalid-entry', where, `image '${id}' is in split '${opts.split}' here but '${existing.split}' before; keeping '${existing.split}'`);
      } else if (existing.split === undefined) {
        existing.split = opts.split;
      }
      if (opts.anchor !== undefined) existing.anchor = opts.anchor;
      return;
    }
    this.pending.set(id, { id, candidates, where, split: opts.split, captions: [], seen: new Set(), locations: [], duplicates: [], anchor: opts.anchor });
  }

  /** Adds a caption to a declared image; empty and exact-duplicate captions are reported and skipped. */
  caption(id: string, raw: string, loc: L, where: Where): void {
    const item = this.pending.get(id);
    if (!item) throw new Error(`internal: caption for undeclared image '${id}'`);
    item.anchor = loc;
    const caption = raw.trim();
    if (caption === '') {
      this.problem('empty-caption', where, `empty caption for '${id}' skipped`);
      return;
    }
    if (!this.opts.keepDuplicateCaptions && item.seen.has(caption)) {
      this.problem('duplicate-caption', where, `duplicate caption for '${id}' dropped: "${clip(caption)}"`);
      item.duplicates.push(loc);
      return;
    }
    item.captions.push(caption);
    item.seen.add(caption);
    item.locations.push(loc);
  }

  /** Resolves every image against the file system; images not found are reported and left out. */
  async finish(): Promise<CollectedItems<L>> {
    const all = [...this.pending.values()];
    const folders = new FolderListings();
    const found = await mapLimit(all, 32, (item) => firstExistingFile(item.candidates, folders));
    const items: DatasetItem[] = [];
    const locations = new Map<string, readonly L[]>();
    const duplicates = new Map<string, readonly L[]>();
    const anchors = new Map<string, L>();
    all.forEach((item, i) => {
      const imagePath = found[i];
      if (imagePath === undefined) {
        const n = item.captions.length;
        this.problem(
          'missing-image',
          { path: item.candidates[0] ?? item.id },
          `image file not found (named at ${describe(item.where)})${n > 0 ? `; its ${n} caption${n === 1 ? '' : 's'} skipped` : ''}`,
        );
        return;
      }
      items.push(item.split === undefined ? { id: item.id, imagePath, captions: item.captions } : { id: item.id, imagePath, captions: item.captions, split: item.split });
      locations.set(item.id, item.locations);
      duplicates.set(item.id, item.duplicates);
      if (item.anchor !== undefined) anchors.set(item.id, item.anchor);
    });
    return { items, byId: new Map(items.map((item) => [item.id, item])), problems: this.problems, locations, duplicates, anchors };
  }
}

function clip(text: string, max = 60): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * The entries of folders, each listed once: checking 20,000 images against their folder's listing costs one
 * `readdir` instead of 20,000 `stat` calls (0.8–1.5 s for a 20,000-row CSV).
 */
export class FolderListings {
  private readonly listings = new Map<string, Promise<Map<string, Dirent> | null>>();

  /** Whether `file` is a regular file (a link is followed), judged from its folder's listing. */
  async isFile(file: string): Promise<boolean> {
    const dir = path.dirname(file);
    let listing = this.listings.get(dir);
    if (!listing) {
      listing = readdir(dir, { withFileTypes: true }).then(
        (entries) => new Map(entries.map((e) => [e.name, e])),
        () => null,
      );
      this.listings.set(dir, listing);
    }
    const entry = (await listing)?.get(path.basename(file));
    if (!entry) return false;
    if (entry.isFile()) return true;
    if (!entry.isSymbolicLink()) return false;
    return stat(file).then((st) => st.isFile(), () => false);
  }
}

/**
 * The first of `candidates` that is an existing regular file, or undefined. A name is also tried in the other
 * Unicode normal form (NFC/NFD): an annotation file typed on one system names 'Ảnh.jpg' in NFC while an archive
 * made on macOS stores it in NFD, and on Linux those are different files. With `folders`, existence is judged from
 * folder listings (one per folder) instead of a `stat` per file.
 */
export async function firstExistingFile(candidates: readonly string[], folders?: FolderListings): Promise<string | undefined> {
  for (const candidate of candidates) {
    for (const name of new Set([candidate, candidate.normalize('NFC'), candidate.normalize('NFD')])) {
      if (folders) {
        if (await folders.isFile(name)) return name;
        continue;
      }
      try {
        if ((await stat(name)).isFile()) return name;
      } catch {
        // not there; try the next
      }
    }
  }
  return undefined;
}

/** Builds the Dataset value from collected items. */
export function makeDataset(format: Dataset['format'], source: string, opts: ReadOptions, collected: CollectedItems<unknown>): Dataset {
  const hasSplits = collected.items.some((item) => item.split !== undefined);
  return {
    format,
    source,
    ...(opts.imagesDir === undefined ? {} : { imagesDir: opts.imagesDir }),
    ...(opts.keepDuplicateCaptions ? { keepDuplicateCaptions: true } : {}),
    items: collected.items,
    problems: collected.problems,
    splits: hasSplits ? { kind: 'dataset' } : { kind: 'none' },
  };
}

/** The read options a dataset was loaded with, to re-read it the same way. */
export function readOptionsOf(dataset: Dataset): ReadOptions {
  return {
    ...(dataset.imagesDir === undefined ? {} : { imagesDir: dataset.imagesDir }),
    ...(dataset.keepDuplicateCaptions ? { keepDuplicateCaptions: true } : {}),
  };
}

/** A text file split into lines, remembering what is needed to write it back byte-for-byte. */
export interface LineFile {
  readonly bom: boolean;
  /** The line ending used when writing lines back ('\r\n' when the file's first line ending is CRLF). */
  readonly eol: '\n' | '\r\n';
  readonly lines: string[];
  /** Whether the text ended with a line ending. */
  readonly finalNewline: boolean;
}

/** Splits text into lines (LF, CRLF or lone CR), stripping a UTF-8 BOM. */
export function splitLines(text: string): LineFile {
  const bom = text.startsWith('\uFEFF');
  const body = bom ? text.slice(1) : text;
  const firstBreak = body.search(/\r\n|\n|\r/);
  const eol = firstBreak >= 0 && body.startsWith('\r\n', firstBreak) ? '\r\n' : '\n';
  const finalNewline = /(?:\r\n|\n|\r)$/.test(body);
  const lines = body === '' ? [] : body.split(/\r\n|\n|\r/);
  if (finalNewline) lines.pop();
  return { bom, eol, lines, finalNewline };
}

/** The inverse of `splitLines` (with the file's own BOM and line ending). */
export function joinLines(file: LineFile, lines: readonly string[]): string {
  const body = lines.join(file.eol) + (lines.length > 0 && (file.finalNewline || file.lines.length === 0) ? file.eol : '');
  return (file.bom ? '\uFEFF' : '') + body;
}

/**
 * Cleans captions typed in the dataset browser: line breaks and tabs become spaces (every format keeps one
 * caption on one line or cell), ends trimmed, empty ones dropped, and exact repeats too unless `keepDuplicates`.
 */
export function cleanEditedCaptions(captions: readonly string[], keepDuplicates = false): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of captions) {
    const caption = raw.replace(/\s*[\r\n\t\v\f\u2028\u2029]+\s*/g, ' ').trim();
    if (caption !== '' && (keepDuplicates || !seen.has(caption))) out.push(caption);
    seen.add(caption);
  }
  return out;
}

/** How to apply one item's new caption list to the places its old captions came from. */
export interface EditPlan<L> {
  /** Old captions overwritten in place, in order (those that did not change are left out). */
  readonly replace: readonly { readonly loc: L; readonly caption: string }[];
  /** Old captions no longer wanted, and the dropped duplicates of the item's captions (stale once it is edited). */
  readonly remove: readonly L[];
  /** New captions beyond the old count, to be added after the item's last entry (or where the format adds). */
  readonly add: readonly string[];
}

/**
 * Maps the i-th new caption of item `id` onto the place of its i-th old caption; the rest are removed or added.
 * The item's dropped duplicate captions are removed too, so an edit never brings a stale copy back to life.
 */
export function planEdit<L>(collected: CollectedItems<L>, id: string, captions: readonly string[]): EditPlan<L> & { readonly locations: readonly L[] } {
  const locations = collected.locations.get(id) ?? [];
  const old = collected.byId.get(id)?.captions ?? [];
  const common = Math.min(locations.length, captions.length);
  const replace: { loc: L; caption: string }[] = [];
  for (let i = 0; i < common; i++) if (old[i] !== captions[i]) replace.push({ loc: locations[i]!, caption: captions[i]! });
  return {
    locations,
    replace,
    remove: [...locations.slice(common), ...(collected.duplicates.get(id) ?? [])],
    add: captions.slice(common),
  };
}

/**
 * Checks the edits against a fresh read of the source: every id must exist, and its captions on disk must still
 * be the ones the caller loaded (otherwise someone changed the file meanwhile and saving would lose that).
 * Returns the cleaned edits keyed by id.
 */
export function checkEdits(dataset: Dataset, fresh: readonly DatasetItem[], edits: readonly CaptionEdit[]): Map<string, string[]> {
  const loaded = new Map(dataset.items.map((item) => [item.id, item]));
  const onDisk = new Map(fresh.map((item) => [item.id, item]));
  const out = new Map<string, string[]>();
  for (const edit of edits) {
    const before = loaded.get(edit.id);
    const now = onDisk.get(edit.id);
    if (!before || !now) throw fileError(dataset.source, `cannot save: no image with id '${edit.id}' in this dataset`);
    if (!sameStrings(before.captions, now.captions)) {
      throw fileError(dataset.source, `cannot save: the captions of '${edit.id}' changed on disk since the dataset was loaded; reload it first`);
    }
    out.set(edit.id, cleanEditedCaptions(edit.captions, dataset.keepDuplicateCaptions === true));
  }
  return out;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** Line and column (1-based) of a character offset in text. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Parses JSON or throws a one-line error naming the file, with line and column when the parser gives a position. */
export function parseJsonFile(file: string, text: string): unknown {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  try {
    return JSON.parse(body) as unknown;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const position = /at position (\d+)/.exec(message);
    if (position) {
      const { line, column } = lineAndColumn(body, Number(position[1]));
      throw fileError(file, `invalid JSON at line ${line} column ${column}: ${message.replace(/\s*in JSON at position \d+.*$/, '')}`);
    }
    throw fileError(file, `invalid JSON: ${message}`);
  }
}

/** Writes JSON back with the indentation (or Python-style one-line separators) and final newline the file had. */
export function stringifyLikeSource(value: unknown, originalText: string): string {
  const body = originalText.startsWith('\uFEFF') ? originalText.slice(1) : originalText;
  const indent = /^[[{]\r?\n([ \t]+)\S/.exec(body.trimStart())?.[1];
  const eol = body.includes('\r\n') ? '\r\n' : '\n';
  let out = indent === undefined ? JSON.stringify(value) : JSON.stringify(value, null, indent);
  // Python's json.dump writes one line with ", " and ": " between items; keep that look too.
  if (indent === undefined && /^[[{]\s*"(?:[^"\\]|\\.)*": /.test(body.trimStart())) {
    out = out.replace(/"(?:[^"\\]|\\.)*"|[,:]/g, (token) => (token === ',' ? ', ' : token === ':' ? ': ' : token));
  }
  if (eol === '\r\n') out = out.replace(/\n/g, '\r\n');
  const finalNewline = /\r?\n$/.test(body) ? eol : '';
  return (originalText.startsWith('\uFEFF') ? '\uFEFF' : '') + out + finalNewline;
}

/**
 * Collects replacements, removals and insertions against positions of an original list, then applies them in
 * one pass, so edits for many items can be planned against the original indices.
 */
export class ListEditor<T> {
  private readonly replaced = new Map<number, T>();
  private readonly removed = new Set<number>();
  private readonly insertedAfter = new Map<number, T[]>();
  private readonly appended: T[] = [];

  replace(index: number, value: T): void {
    this.replaced.set(index, value);
  }

  remove(index: number): void {
    this.removed.add(index);
  }

  /** Inserts after the original entry at `index`, or at the end of the list when `index` is undefined. */
  insertAfter(index: number | undefined, values: readonly T[]): void {
    if (values.length === 0) return;
    if (index === undefined) this.appended.push(...values);
    else this.insertedAfter.set(index, [...(this.insertedAfter.get(index) ?? []), ...values]);
  }

  get empty(): boolean {
    return this.replaced.size === 0 && this.removed.size === 0 && this.insertedAfter.size === 0 && this.appended.length === 0;
  }

  apply(list: readonly T[]): T[] {
    const out: T[] = [];
    list.forEach((value, i) => {
      if (!this.removed.has(i)) out.push(this.replaced.has(i) ? this.replaced.get(i)! : value);
      const after = this.insertedAfter.get(i);
      if (after) out.push(...after);
    });
    out.push(...this.appended);
    return out;
  }
}

/** Reads a split name as datasets spell it ('restval' → train, 'dev'/'validation' → val); undefined if unknown. */
export function parseSplitName(value: string): Split | undefined {
  switch (value.trim().toLowerCase()) {
    case 'train':
    case 'training':
    case 'restval':
      return 'train';
    case 'val':
    case 'valid':
    case 'validation':
    case 'dev':
      return 'val';
    case 'test':
    case 'testing':
      return 'test';
    default:
      return undefined;
  }
}
