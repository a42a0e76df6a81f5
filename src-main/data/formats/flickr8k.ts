/**
 * Flickr8k token file (`Flickr8k.token.txt`): lines `image.jpg#n<TAB>caption`. Split lists beside it
 * (`*trainImages.txt`, `*devImages.txt` → val, `*testImages.txt`; one image name per line) give the splits.
 * Images are looked up in `imagesDir` when given, else in `Flicker8k_Dataset/` (the archive's own spelling),
 * `Flickr8k_Dataset/`, `images/` beside the file, or the file's folder itself.
 *
 * Saving replaces the caption after the tab on edited lines, removes dropped lines and adds new lines
 * (`image.jpg#<next n>`) after the image's last line; every other line is kept as it was.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import type { CaptionEdit, Dataset, ReadOptions, Split } from '../dataset-types.ts';
import {
  beginSave,
  checkEdits,
  fileError,
  ItemCollector,
  readTextFile,
  joinLines,
  ListEditor,
  makeDataset,
  planEdit,
  readOptionsOf,
  splitLines,
  type CollectedItems,
  type LineFile,
} from './common.ts';

/** One caption line: `name#n<TAB>caption`. */
const TOKEN_LINE = /^([^\t#]+)#(\d+)\t(.*)$/;

/** True when text looks like a Flickr8k token file (its first non-blank line matches the pattern). */
export function looksLikeFlickr8k(text: string): boolean {
  const first = splitLines(text).lines.find((line) => line.trim() !== '');
  return first !== undefined && TOKEN_LINE.test(first);
}

/** The split list files that may sit beside a token file, by split. */
const SPLIT_LISTS: readonly { readonly suffix: string; readonly split: Split }[] = [
  { suffix: 'trainimages.txt', split: 'train' },
  { suffix: 'devimages.txt', split: 'val' },
  { suffix: 'valimages.txt', split: 'val' },
  { suffix: 'testimages.txt', split: 'test' },
];

async function readSplitLists(dir: string): Promise<Map<string, Split>> {
  const splits = new Map<string, Split>();
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.sort()) {
    const list = SPLIT_LISTS.find((entry) => name.toLowerCase().endsWith(entry.suffix));
    if (!list) continue;
    const text = await readFile(path.join(dir, name), 'utf8');
    for (const line of splitLines(text).lines) {
      const image = line.trim();
      if (image !== '' && !splits.has(image)) splits.set(image, list.split);
    }
  }
  return splits;
}

interface ParsedFlickr8k {
  readonly lineFile: LineFile;
  /** Line index of each kept caption. */
  readonly collected: CollectedItems<number>;
  /** The largest `#n` seen per image. */
  readonly maxNumber: ReadonlyMap<string, number>;
}

async function parseFlickr8k(file: string, opts: ReadOptions): Promise<ParsedFlickr8k> {
  const text = await readTextFile(file);
  const lineFile = splitLines(text);
  const dir = path.dirname(file);
  const splits = await readSplitLists(dir);
  const roots = opts.imagesDir !== undefined
    ? [opts.imagesDir]
    : ['Flicker8k_Dataset', 'Flickr8k_Dataset', 'images', '.'].map((sub) => path.resolve(dir, sub));
  const collector = new ItemCollector<number>(opts);
  const maxNumber = new Map<string, number>();
  let matched = 0;
  lineFile.lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const where = { path: file, line: index + 1 };
    const match = TOKEN_LINE.exec(line);
    if (!match) {
      collector.problem('invalid-entry', where, `not 'image.jpg#n<TAB>caption'; skipped`);
      return;
    }
    matched++;
    const name = match[1]!.trim();
    const n = Number(match[2]);
    maxNumber.set(name, Math.max(maxNumber.get(name) ?? -1, n));
    const split = splits.get(name);
    collector.image(name, roots.map((root) => path.resolve(root, name)), where, { repeatsAllowed: true, anchor: index, ...(split === undefined ? {} : { split }) });
    collector.caption(name, match[3]!, index, where);
  });
  if (matched === 0 && lineFile.lines.some((line) => line.trim() !== '')) {
    throw fileError(file, "not a Flickr8k token file: no line of the form 'image.jpg#n<TAB>caption'");
  }
  return { lineFile, collected: await collector.finish(), maxNumber };
}

/** Reads a Flickr8k token file (and the split lists beside it). */
export async function readFlickr8k(file: string, opts: ReadOptions = {}): Promise<Dataset> {
  const source = path.resolve(file);
  const { collected } = await parseFlickr8k(source, opts);
  return makeDataset('flickr8k', source, opts, collected);
}

/** Writes edited captions back into the token file (see the module comment). */
export async function saveFlickr8k(dataset: Dataset, edits: readonly CaptionEdit[]): Promise<void> {
  const before = await beginSave(dataset.source);
  const parsed = await parseFlickr8k(dataset.source, readOptionsOf(dataset));
  const cleaned = checkEdits(dataset, parsed.collected.items, edits);
  const { lines } = parsed.lineFile;
  const editor = new ListEditor<string>();
  for (const [id, captions] of cleaned) {
    const plan = planEdit(parsed.collected, id, captions);
    for (const { loc, caption } of plan.replace) {
      const line = lines[loc]!;
      editor.replace(loc, `${line.slice(0, line.indexOf('\t'))}\t${caption}`);
    }
    for (const loc of plan.remove) editor.remove(loc);
    let n = (parsed.maxNumber.get(id) ?? -1) + 1;
    editor.insertAfter(parsed.collected.anchors.get(id), plan.add.map((caption) => `${id}#${n++}\t${caption}`));
  }
  if (!editor.empty) await writeFileAtomic(dataset.source, joinLines(parsed.lineFile, editor.apply(lines)), { unchangedSince: before });
}
