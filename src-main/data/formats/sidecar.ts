/**
 * Sidecar format: a folder (searched recursively) of images where `name.txt` or `name.caption` beside
 * `name.jpg` holds its captions, one per line. Images without a sidecar are listed with no captions; a caption
 * file with no image beside it is reported. Hidden files and folders (starting with '.') are skipped.
 * When both `name.txt` and `name.caption` exist, `name.txt` is used and the other is reported.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { removeStaleTempFiles, writeFileAtomic } from '../../util/atomic-write.ts';
import { fileIdentity } from '../../util/file-identity.ts';
import type { CaptionEdit, Dataset, ReadOptions } from '../dataset-types.ts';
import {
  checkEdits,
  fileError,
  isImageName,
  ItemCollector,
  joinLines,
  ListEditor,
  makeDataset,
  planEdit,
  readOptionsOf,
  splitLines,
  toPosixId,
  type CollectedItems,
} from './common.ts';

/** Extensions of caption files, in order of preference. */
export const SIDECAR_EXTENSIONS = ['.txt', '.caption'] as const;

/** Where a sidecar caption lives: its file and 0-based line index. */
interface SidecarLoc {
  readonly file: string;
  readonly line: number;
}

interface ParsedSidecar {
  readonly collected: CollectedItems<SidecarLoc>;
  /** The caption file each image id reads from, when it has one. */
  readonly sidecarOf: ReadonlyMap<string, string>;
}

/** All files under `root`, recursively, skipping hidden entries and not following symlinked folders. */
async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) out.push(full);
      else if (entry.isSymbolicLink()) {
        const target = await stat(full).catch(() => undefined);
        if (target?.isFile()) out.push(full);
      }
    }
  };
  await walk(root);
  return out;
}

function stemOf(file: string): string {
  return file.slice(0, file.length - path.extname(file).length);
}

async function parseSidecar(root: string, opts: ReadOptions): Promise<ParsedSidecar> {
  let files: string[];
  let isFolder: boolean;
  try {
    isFolder = (await stat(root)).isDirectory();
    files = isFolder ? await listFiles(root) : [];
  } catch (err) {
    throw fileError(root, `cannot read the folder: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isFolder) throw fileError(root, 'not a folder (the sidecar format reads a folder of images)');
  const captionFiles = new Map<string, string>(); // caption file → its lower-case extension
  for (const file of files) {
    const ext = path.extname(file).toLowerCase();
    if ((SIDECAR_EXTENSIONS as readonly string[]).includes(ext)) captionFiles.set(file, ext);
  }
  const byStem = new Map<string, string[]>(); // stem → caption files (in SIDECAR_EXTENSIONS order)
  for (const ext of SIDECAR_EXTENSIONS) {
    for (const [file, fileExt] of captionFiles) {
      if (fileExt === ext) byStem.set(stemOf(file), [...(byStem.get(stemOf(file)) ?? []), file]);
    }
  }

  const collector = new ItemCollector<SidecarLoc>(opts);
  const sidecarOf = new Map<string, string>();
  const used = new Set<string>();
  const usedBy = new Map<string, string>();
  for (const file of files) {
    if (!isImageName(file)) continue;
    const id = toPosixId(path.relative(root, file));
    const where = { path: file };
    collector.image(id, [file], where, { repeatsAllowed: false });
    const sidecars = byStem.get(stemOf(file)) ?? [];
    const sidecar = sidecars[0];
    if (sidecar === undefined) continue;
    for (const ignored of sidecars.slice(1)) {
      if (!used.has(ignored)) collector.problem('duplicate-entry', { path: ignored }, `${path.basename(ignored)} ignored: ${path.basename(sidecar)} holds the captions of ${path.basename(file)}`);
      used.add(ignored);
    }
    const other = usedBy.get(sidecar);
    if (other !== undefined) {
      collector.problem('duplicate-entry', { path: sidecar }, `${path.basename(sidecar)} holds the captions of both ${other} and ${id}`);
    }
    usedBy.set(sidecar, id);
    used.add(sidecar);
    sidecarOf.set(id, sidecar);
    await readCaptionFile(collector, id, sidecar);
  }
  for (const file of captionFiles.keys()) {
    if (!used.has(file)) collector.problem('orphan-caption', { path: file }, `no image named ${path.basename(stemOf(file))}.* beside this caption file`);
  }
  return { collected: await collector.finish(), sidecarOf };
}

/** Reads a sidecar-captioned image folder (`imagesDir` does not apply: the images are the folder's). */
export async function readSidecar(root: string, opts: ReadOptions = {}): Promise<Dataset> {
  const source = path.resolve(root);
  const { collected } = await parseSidecar(source, opts);
  return makeDataset('sidecar', source, { ...opts, imagesDir: undefined }, collected);
}

/**
 * The fresh state on disk of just the edited images: each one's caption file (found the way the full read finds
 * it, from a listing of the image's own folder) read again with its line positions — so a save costs in proportion
 * to what it changes, not to the size of the folder.
 */
async function parseEditedSidecars(dataset: Dataset, ids: readonly string[]): Promise<ParsedSidecar> {
  const imageOf = new Map(dataset.items.map((item) => [item.id, item.imagePath]));
  const listings = new Map<string, Promise<string[]>>();
  const listing = (dir: string): Promise<string[]> => {
    let names = listings.get(dir);
    if (!names) {
      names = readdir(dir).then((all) => all.filter((n) => !n.startsWith('.')).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      listings.set(dir, names);
    }
    return names;
  };
  const collector = new ItemCollector<SidecarLoc>(readOptionsOf(dataset));
  const sidecarOf = new Map<string, string>();
  for (const id of ids) {
    const file = imageOf.get(id);
    if (file === undefined) continue; // checkEdits names the unknown id
    collector.image(id, [file], { path: file }, { repeatsAllowed: false });
    const dir = path.dirname(file);
    const stem = path.basename(stemOf(file));
    const names = await listing(dir);
    const sidecar = SIDECAR_EXTENSIONS.flatMap((ext) => names.filter((n) => path.extname(n).toLowerCase() === ext && stemOf(n) === stem))[0];
    if (sidecar === undefined) continue;
    const full = path.join(dir, sidecar);
    sidecarOf.set(id, full);
    await readCaptionFile(collector, id, full);
  }
  return { collected: await collector.finish(), sidecarOf };
}

/** Adds the captions of one caption file (one per non-blank line, with its line index) to image `id`. */
async function readCaptionFile(collector: ItemCollector<SidecarLoc>, id: string, sidecar: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(sidecar, 'utf8');
  } catch (err) {
    collector.problem('invalid-entry', { path: sidecar }, `cannot read: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  splitLines(text).lines.forEach((line, index) => {
    // Blank lines separate nothing in this format; only lines with text are captions.
    if (line.trim() === '') return;
    collector.caption(id, line, { file: sidecar, line: index }, { path: sidecar, line: index + 1 });
  });
}

/**
 * Writes edited captions into each image's caption file (creating `name.txt` when it had none), replacing the
 * edited lines in place and keeping every other line, the BOM and the line endings. Only the edited images'
 * caption files are read again (to check they did not change since the dataset was loaded) and written.
 */
export async function saveSidecar(dataset: Dataset, edits: readonly CaptionEdit[]): Promise<void> {
  const { collected, sidecarOf } = await parseEditedSidecars(dataset, edits.map((e) => e.id));
  const cleaned = checkEdits(dataset, collected.items, edits);
  const imageOf = new Map(collected.items.map((item) => [item.id, item.imagePath]));
  // Temporary files killed saves left beside the caption files about to be written.
  const folders = new Set([...cleaned.keys()].map((id) => path.dirname(sidecarOf.get(id) ?? imageOf.get(id)!)));
  for (const folder of folders) await removeStaleTempFiles(folder);
  for (const [id, captions] of cleaned) {
    const file = sidecarOf.get(id);
    if (file === undefined) {
      if (captions.length === 0) continue;
      await writeFileAtomic(`${stemOf(imageOf.get(id)!)}.txt`, `${captions.join('\n')}\n`, { unchangedSince: null });
      continue;
    }
    const before = await fileIdentity(file);
    const lineFile = splitLines(await readFile(file, 'utf8'));
    const plan = planEdit(collected, id, captions);
    const { locations } = plan;
    const editor = new ListEditor<string>();
    for (const { loc, caption } of plan.replace) editor.replace(loc.line, caption);
    for (const loc of plan.remove) editor.remove(loc.line);
    editor.insertAfter(locations.at(-1)?.line, plan.add);
    if (!editor.empty) await writeFileAtomic(file, joinLines(lineFile, editor.apply(lineFile.lines)), { unchangedSince: before });
  }
}
