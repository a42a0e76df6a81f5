/**
 * COCO captions JSON: `images[]` (`id`, `file_name`) and `annotations[]` (`image_id`, `caption`). Item ids are
 * the COCO image ids as strings. Images are looked up in `imagesDir` when given, else beside the JSON in
 * `images/`, the JSON's folder itself, the `<split>` folder named by an official `captions_<split>.json` (beside
 * it or one level up), and finally `file_name` as given when it is absolute. An optional `split` field on an
 * image entry ('train' / 'val' / 'test' / 'restval') is honoured.
 *
 * Saving changes only the `caption` of edited annotations, removes dropped ones and adds new ones (next free
 * annotation id) after the image's last annotation; every other field is kept, the file keeps its indentation.
 */
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import type { CaptionEdit, Dataset, ReadOptions, Split } from '../dataset-types.ts';
import {
  beginSave,
  checkEdits,
  fileError,
  ItemCollector,
  readTextFile,
  ListEditor,
  makeDataset,
  parseJsonFile,
  parseSplitName,
  readOptionsOf,
  planEdit,
  stringifyLikeSource,
  type CollectedItems,
} from './common.ts';

const cocoId = z.union([z.number(), z.string().min(1)]);
const imageEntry = z.looseObject({ id: cocoId, file_name: z.string().min(1), split: z.string().optional() });
const annotationEntry = z.looseObject({ image_id: cocoId, caption: z.string() });

/** True when a parsed JSON value has the COCO captions shape (used by format detection). */
export function looksLikeCoco(json: unknown): boolean {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
  const record = json as Record<string, unknown>;
  return Array.isArray(record.images) && Array.isArray(record.annotations);
}

interface ParsedCoco {
  readonly text: string;
  readonly json: Record<string, unknown>;
  /** Annotation index of each kept caption. */
  readonly collected: CollectedItems<number>;
  /** The `id` value of each image as written in the file (number or string), by item id. */
  readonly rawIds: ReadonlyMap<string, number | string>;
}

function imageCandidates(file: string, fileName: string, opts: ReadOptions): string[] {
  if (opts.imagesDir !== undefined) return [path.resolve(opts.imagesDir, fileName)];
  const dir = path.dirname(file);
  const out = [path.resolve(dir, 'images', fileName), path.resolve(dir, fileName)];
  const split = /^captions_([\w-]+)\.json$/i.exec(path.basename(file))?.[1];
  if (split !== undefined) out.push(path.resolve(dir, split, fileName), path.resolve(dir, '..', split, fileName));
  if (path.isAbsolute(fileName)) out.push(fileName);
  return [...new Set(out)];
}

async function parseCoco(file: string, opts: ReadOptions): Promise<ParsedCoco> {
  const text = await readTextFile(file);
  const json = parseJsonFile(file, text);
  if (!looksLikeCoco(json)) throw fileError(file, 'not a COCO captions file: expected an object with images[] and annotations[] arrays');
  const record = json as Record<string, unknown>;
  const images = record.images as unknown[];
  const annotations = record.annotations as unknown[];

  const collector = new ItemCollector<number>(opts);
  const rawIds = new Map<string, number | string>();
  const where = { path: file };
  images.forEach((entry, index) => {
    const parsed = imageEntry.safeParse(entry);
    if (!parsed.success) {
      collector.problem('invalid-entry', where, `images[${index}] skipped: it needs an id and a file_name`);
      return;
    }
    const id = String(parsed.data.id);
    let split: Split | undefined;
    if (parsed.data.split !== undefined) {
      split = parseSplitName(parsed.data.split);
      if (split === undefined) collector.problem('invalid-entry', where, `images[${index}]: unknown split '${parsed.data.split}' ignored`);
    }
    if (rawIds.has(id)) {
      collector.problem('duplicate-entry', where, `images[${index}]: image id ${id} is listed again; the later entry is ignored`);
      return;
    }
    rawIds.set(id, parsed.data.id);
    collector.image(id, imageCandidates(file, parsed.data.file_name, opts), { path: file }, { repeatsAllowed: false, ...(split === undefined ? {} : { split }) });
  });
  annotations.forEach((entry, index) => {
    const parsed = annotationEntry.safeParse(entry);
    if (!parsed.success) {
      collector.problem('invalid-entry', where, `annotations[${index}] skipped: it needs an image_id and a caption string`);
      return;
    }
    const id = String(parsed.data.image_id);
    if (!rawIds.has(id)) {
      collector.problem('invalid-entry', where, `annotations[${index}] skipped: no image with id ${id}`);
      return;
    }
    collector.caption(id, parsed.data.caption, index, { path: file });
  });
  return { text, json: record, collected: await collector.finish(), rawIds };
}

/** Reads a COCO captions JSON file. */
export async function readCoco(file: string, opts: ReadOptions = {}): Promise<Dataset> {
  const source = path.resolve(file);
  const { collected } = await parseCoco(source, opts);
  return makeDataset('coco', source, opts, collected);
}

/** Writes edited captions back into the COCO file (see the module comment). */
export async function saveCoco(dataset: Dataset, edits: readonly CaptionEdit[]): Promise<void> {
  const before = await beginSave(dataset.source);
  const parsed = await parseCoco(dataset.source, readOptionsOf(dataset));
  const cleaned = checkEdits(dataset, parsed.collected.items, edits);
  const annotations = parsed.json.annotations as unknown[];
  let nextId = 1;
  for (const entry of annotations) {
    const id = (entry as { id?: unknown }).id;
    if (typeof id === 'number' && Number.isFinite(id) && id >= nextId) nextId = Math.floor(id) + 1;
  }
  const editor = new ListEditor<unknown>();
  for (const [id, captions] of cleaned) {
    const plan = planEdit(parsed.collected, id, captions);
    for (const { loc, caption } of plan.replace) editor.replace(loc, { ...(annotations[loc] as object), caption });
    for (const loc of plan.remove) editor.remove(loc);
    const imageId = parsed.rawIds.get(id)!;
    editor.insertAfter(parsed.collected.anchors.get(id), plan.add.map((caption) => ({ image_id: imageId, id: nextId++, caption })));
  }
  if (editor.empty) return;
  const json = { ...parsed.json, annotations: editor.apply(annotations) };
  await writeFileAtomic(dataset.source, stringifyLikeSource(json, parsed.text), { unchangedSince: before });
}
