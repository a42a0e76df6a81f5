/**
 * Karpathy's split JSON (`dataset.json` of neuraltalk2 / UCM-Captions): `images[]` with `filename`, optional
 * `filepath`, `split` ('train' / 'val' / 'test'; 'restval' is read as train) and `sentences[]` with `raw` (or only
 * `tokens`, joined by spaces). Item ids are `filepath/filename` (or `filename`). Images are looked up under
 * `imagesDir` when given (with and without `filepath`), else under the JSON's folder and its `images/` subfolder.
 *
 * Saving changes `raw` (and `tokens`, re-tokenised, when the sentence had them) of edited sentences, removes
 * dropped ones (and their `sentids`), and appends new sentences with the next free `sentid`; all else is kept.
 */
import path from 'node:path';
import { z } from 'zod';
import { tokenize } from '../../text/tokenize.ts';
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

const sentenceEntry = z.looseObject({ raw: z.string().optional(), tokens: z.array(z.string()).optional() });
const imageEntry = z.looseObject({
  filename: z.string().min(1),
  filepath: z.string().optional(),
  // Checked below, so that a bad split is reported as such and the image kept.
  split: z.unknown().optional(),
  sentences: z.array(z.unknown()),
});

/** True when a parsed JSON value has the Karpathy split shape (used by format detection). */
export function looksLikeKarpathy(json: unknown): boolean {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return false;
  const images = (json as Record<string, unknown>).images;
  if (!Array.isArray(images) || Array.isArray((json as Record<string, unknown>).annotations)) return false;
  const first = images.find((entry) => typeof entry === 'object' && entry !== null) as Record<string, unknown> | undefined;
  return images.length === 0 || (first !== undefined && Array.isArray(first.sentences));
}

/** Where a Karpathy caption lives: the image entry and the sentence within it. */
interface KarpathyLoc {
  readonly image: number;
  readonly sentence: number;
}

interface ParsedKarpathy {
  readonly text: string;
  readonly json: Record<string, unknown>;
  readonly collected: CollectedItems<KarpathyLoc>;
  /** The image entry index each item id was first read from. */
  readonly entryOf: ReadonlyMap<string, number>;
}

function imageCandidates(file: string, fileName: string, filePath: string | undefined, opts: ReadOptions): string[] {
  const roots = opts.imagesDir !== undefined ? [opts.imagesDir] : [path.join(path.dirname(file), 'images'), path.dirname(file)];
  const out: string[] = [];
  for (const root of roots) {
    if (filePath !== undefined && filePath !== '') out.push(path.resolve(root, filePath, fileName));
    out.push(path.resolve(root, fileName));
  }
  return [...new Set(out)];
}

/** What is wrong with an image entry that does not parse, field by field (for its one-line problem). */
function entryFault(entry: unknown): string {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return `an image entry must be an object, not ${JSON.stringify(entry)}`;
  const e = entry as Record<string, unknown>;
  const faults: string[] = [];
  if (typeof e.filename !== 'string' || e.filename === '') faults.push(e.filename === undefined ? 'it has no filename' : `filename ${JSON.stringify(e.filename)} is not a file name`);
  if (e.filepath !== undefined && typeof e.filepath !== 'string') faults.push(`filepath ${JSON.stringify(e.filepath)} is not a path`);
  if (!Array.isArray(e.sentences)) faults.push(e.sentences === undefined ? 'it has no sentences array' : 'its sentences are not an array');
  return faults.length ? faults.join('; ') : 'it is not a valid image entry';
}

async function parseKarpathy(file: string, opts: ReadOptions): Promise<ParsedKarpathy> {
  const text = await readTextFile(file);
  const json = parseJsonFile(file, text);
  if (!looksLikeKarpathy(json)) throw fileError(file, 'not a Karpathy split file: expected an object with images[] whose entries have sentences[]');
  const record = json as Record<string, unknown>;
  const images = record.images as unknown[];
  const collector = new ItemCollector<KarpathyLoc>(opts);
  const entryOf = new Map<string, number>();
  const where = { path: file };
  images.forEach((entry, index) => {
    const parsed = imageEntry.safeParse(entry);
    if (!parsed.success) {
      collector.problem('invalid-entry', where, `images[${index}] skipped: ${entryFault(entry)}`);
      return;
    }
    const { filename, filepath } = parsed.data;
    const id = filepath ? `${filepath.replace(/\\/g, '/').replace(/\/+$/, '')}/${filename}` : filename;
    let split: Split | undefined;
    const rawSplit = parsed.data.split;
    if (typeof rawSplit === 'string') {
      split = parseSplitName(rawSplit);
      if (split === undefined) collector.problem('invalid-entry', where, `images[${index}]: unknown split '${rawSplit}' ignored`);
    } else if (rawSplit !== undefined && rawSplit !== null) {
      collector.problem('invalid-entry', where, `images[${index}]: split ${JSON.stringify(rawSplit)} is not a split name (train, val or test); ignored`);
    }
    if (entryOf.has(id)) {
      collector.problem('duplicate-entry', where, `images[${index}]: '${id}' is listed again (first at images[${entryOf.get(id)}]); its sentences are merged`);
    } else {
      entryOf.set(id, index);
    }
    collector.image(id, imageCandidates(file, filename, filepath, opts), where, { repeatsAllowed: true, ...(split === undefined ? {} : { split }) });
    parsed.data.sentences.forEach((sentence, s) => {
      const parsedSentence = sentenceEntry.safeParse(sentence);
      const raw = parsedSentence.success ? (parsedSentence.data.raw ?? parsedSentence.data.tokens?.join(' ')) : undefined;
      if (raw === undefined) {
        collector.problem('invalid-entry', where, `images[${index}].sentences[${s}] skipped: no raw text or tokens`);
        return;
      }
      collector.caption(id, raw, { image: index, sentence: s }, where);
    });
  });
  return { text, json: record, collected: await collector.finish(), entryOf };
}

/** Reads a Karpathy split JSON file. */
export async function readKarpathy(file: string, opts: ReadOptions = {}): Promise<Dataset> {
  const source = path.resolve(file);
  const { collected } = await parseKarpathy(source, opts);
  return makeDataset('karpathy', source, opts, collected);
}

/** Writes edited captions back into the Karpathy file (see the module comment). */
export async function saveKarpathy(dataset: Dataset, edits: readonly CaptionEdit[]): Promise<void> {
  const before = await beginSave(dataset.source);
  const parsed = await parseKarpathy(dataset.source, readOptionsOf(dataset));
  const cleaned = checkEdits(dataset, parsed.collected.items, edits);
  const images = [...(parsed.json.images as Record<string, unknown>[])];
  let nextSentId = 0;
  let sentencesHaveTokens = false;
  for (const image of images) {
    for (const sentence of (image.sentences as Record<string, unknown>[] | undefined) ?? []) {
      if (typeof sentence?.sentid === 'number' && sentence.sentid >= nextSentId) nextSentId = sentence.sentid + 1;
      if (Array.isArray(sentence?.tokens)) sentencesHaveTokens = true;
    }
  }
  // One editor per image entry touched.
  const editors = new Map<number, ListEditor<unknown>>();
  const editorFor = (index: number): ListEditor<unknown> => {
    let editor = editors.get(index);
    if (!editor) editors.set(index, (editor = new ListEditor<unknown>()));
    return editor;
  };
  const removedSentIds = new Map<number, Set<unknown>>();
  const addedSentIds = new Map<number, number[]>();
  for (const [id, captions] of cleaned) {
    const plan = planEdit(parsed.collected, id, captions);
    const { locations } = plan;
    for (const { loc, caption } of plan.replace) {
      const sentence = (images[loc.image]!.sentences as Record<string, unknown>[])[loc.sentence]!;
      editorFor(loc.image).replace(loc.sentence, { ...sentence, raw: caption, ...(Array.isArray(sentence.tokens) ? { tokens: tokenize(caption) } : {}) });
    }
    for (const loc of plan.remove) {
      const sentence = (images[loc.image]!.sentences as Record<string, unknown>[])[loc.sentence]!;
      editorFor(loc.image).remove(loc.sentence);
      if (sentence.sentid !== undefined) removedSentIds.set(loc.image, (removedSentIds.get(loc.image) ?? new Set()).add(sentence.sentid));
    }
    if (plan.add.length > 0) {
      const last = locations.at(-1);
      const entryIndex = last?.image ?? parsed.entryOf.get(id)!;
      const entry = images[entryIndex]!;
      const added = plan.add.map((caption) => {
        const sentid = nextSentId++;
        addedSentIds.set(entryIndex, [...(addedSentIds.get(entryIndex) ?? []), sentid]);
        return {
          ...(sentencesHaveTokens ? { tokens: tokenize(caption) } : {}),
          raw: caption,
          ...(entry.imgid !== undefined ? { imgid: entry.imgid } : {}),
          sentid,
        };
      });
      editorFor(entryIndex).insertAfter(last?.sentence, added);
    }
  }
  if (editors.size === 0) return;
  for (const [index, editor] of editors) {
    const entry = images[index]!;
    const next: Record<string, unknown> = { ...entry, sentences: editor.apply(entry.sentences as unknown[]) };
    if (Array.isArray(entry.sentids)) {
      const removed = removedSentIds.get(index) ?? new Set();
      next.sentids = [...(entry.sentids as unknown[]).filter((sid) => !removed.has(sid)), ...(addedSentIds.get(index) ?? [])];
    }
    images[index] = next;
  }
  const json = { ...parsed.json, images };
  await writeFileAtomic(dataset.source, stringifyLikeSource(json, parsed.text), { unchangedSince: before });
}
