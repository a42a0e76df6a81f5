/**
 * Folder listings for the browser mode's file picker (a browser page cannot see paths on the machine the
 * backend runs on). Hidden entries are left out; folders come first, then files, each sorted by name.
 */
import { readdir, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FsEntry, FsListing } from '../contract/types.ts';
import { notFound } from '../contract/errors.ts';

/** Lists `dir` (default: the home folder). */
export async function listFolder(dir: string | undefined, extraPlaces: readonly { label: string; path: string }[] = []): Promise<FsListing> {
  const target = path.resolve(dir ?? os.homedir());
  let names: string[];
  try {
    const st = await stat(target);
    if (!st.isDirectory()) throw notFound(`${target}: not a folder`);
    names = await readdir(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`${target}: no such folder`);
    if ((err as NodeJS.ErrnoException).code === 'EACCES') throw notFound(`${target}: permission denied`);
    throw err;
  }
  const entries: FsEntry[] = [];
  await Promise.all(
    names
      .filter((name) => !name.startsWith('.'))
      .map(async (name) => {
        const full = path.join(target, name);
        try {
          const st = await stat(full);
          if (st.isDirectory() || st.isFile()) entries.push({ name, path: full, kind: st.isDirectory() ? 'dir' : 'file', size: st.isFile() ? st.size : 0 });
        } catch {
          // a dangling link or a file that vanished: not listed
        }
      }),
  );
  entries.sort((a, b) => (a.kind !== b.kind ? (a.kind === 'dir' ? -1 : 1) : a.name.localeCompare(b.name)));
  const parent = path.dirname(target);
  const places = [{ label: 'Home', path: os.homedir() }, { label: 'Working folder', path: process.cwd() }, ...extraPlaces];
  return {
    path: target,
    parent: parent === target ? null : parent,
    entries,
    hidden: names.filter((name) => name.startsWith('.')).length,
    // The same folder under two names (the working folder is often home) is offered once.
    places: places.filter((place, i) => places.findIndex((p) => p.path === place.path) === i),
  };
}
