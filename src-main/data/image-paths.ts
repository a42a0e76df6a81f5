/**
 * Turns what the user named (files and folders) into the list of image files to work on: files as given (a
 * non-image then fails later with its own reason), folders walked recursively for image files, hidden entries
 * skipped, sorted so results come in a stable order, duplicates removed.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isImageName } from './formats/common.ts';

/** Most files one request may expand to. */
export const MAX_FILES = 100_000;

export async function expandImagePaths(inputs: readonly string[], maxFiles = MAX_FILES): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (file: string): void => {
    if (seen.has(file)) return;
    if (out.length >= maxFiles) throw new Error(`more than ${maxFiles} image files; pick a smaller folder`);
    seen.add(file);
    out.push(file);
  };
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && isImageName(entry.name)) add(full);
    }
  };
  for (const input of inputs) {
    const target = path.resolve(input);
    let st;
    try {
      st = await stat(target);
    } catch {
      add(target); // reported as "not found" when it is read
      continue;
    }
    if (st.isDirectory()) await walk(target);
    else add(target);
  }
  return out;
}
