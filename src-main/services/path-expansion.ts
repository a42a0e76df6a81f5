/**
 * Turns what the user dropped or picked into the list of files to caption: files as given (a non-image then
 * fails inline with its reason), folders walked recursively for image files, hidden entries skipped, sorted so
 * results come in a stable order.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { isImageName } from '../data/formats/common.ts';
import { ServiceError } from './errors.ts';

/** Most files one request may expand to. */
export const MAX_FILES = 100_000;

export async function expandImagePaths(inputs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (file: string): void => {
    if (seen.has(file)) return;
    if (out.length >= MAX_FILES) throw new ServiceError(`more than ${MAX_FILES} files to caption; pick a smaller folder`, 'validation');
    seen.add(file);
    out.push(file);
  };
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => a.name.localeCompare(b.name));
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
      add(target); // reported inline as "not found" by the caption job
      continue;
    }
    if (st.isDirectory()) await walk(target);
    else add(target);
  }
  return out;
}
