/**
 * Turns what the user named (files and folders) into the list of image files to work on: files as given (a
 * non-image then fails later with its own reason), folders walked recursively for image files (symbolic links
 * followed, each real folder walked once), hidden entries skipped, sorted so results come in a stable order,
 * duplicates removed. A folder that cannot be read is reported through `onUnreadable` and skipped.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import { isImageName } from './formats/common.ts';

/** Most files one request may expand to. */
export const MAX_FILES = 100_000;

export interface ExpandOptions {
  /** Most files (default MAX_FILES); more is an error. */
  readonly maxFiles?: number;
  /**
   * Told about each folder that could not be read, and each symbolic link that leads back to itself (a loop such
   * as a.jpg → b.jpg → a.jpg), with a one-line message naming it; the rest goes on.
   */
  readonly onUnreadable?: (dir: string, message: string) => void;
  /** Told about each symbolic link loop instead of `onUnreadable`, when given (to list it with the failed items). */
  readonly onLinkLoop?: (link: string, message: string) => void;
  /** Told the real path of each folder or file reached through a symbolic link (to grant access to it too). */
  readonly onLinked?: (realPath: string) => void;
}

function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EACCES' || e.code === 'EPERM') return 'permission denied';
  return (e.message ?? String(err)).replace(/\s*[\r\n]+\s*/g, ' ');
}

export async function expandImagePaths(inputs: readonly string[], opts: ExpandOptions = {}): Promise<string[]> {
  const maxFiles = opts.maxFiles ?? MAX_FILES;
  const out: string[] = [];
  const seen = new Set<string>();
  const walked = new Set<string>();
  /** Adds a file once; `key` is its real path when it was reached through a link (the same file twice is one). */
  const add = (file: string, key = file): void => {
    if (seen.has(key)) return;
    if (out.length >= maxFiles) throw new Error(`more than ${maxFiles} image files; pick a smaller folder`);
    seen.add(key);
    out.push(file);
  };
  const walk = async (dir: string): Promise<void> => {
    let entries: Dirent[];
    try {
      const real = await realpath(dir);
      if (walked.has(real)) return; // a link back into a folder already walked
      walked.add(real);
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      opts.onUnreadable?.(dir, `${dir}: cannot read this folder (${reasonOf(err)}); skipped`);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (!entry.isSymbolicLink()) {
        if (entry.isDirectory()) await walk(full);
        else if (entry.isFile() && isImageName(entry.name)) add(full);
        continue;
      }
      let target: Awaited<ReturnType<typeof stat>> | null = null;
      try {
        target = await stat(full);
      } catch (err) {
        // A dangling link is skipped; a loop is reported.
        if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
          const message = `${full}: symbolic link loop (it leads back to itself); skipped`;
          if (opts.onLinkLoop) opts.onLinkLoop(full, message);
          else opts.onUnreadable?.(full, message);
        }
        continue;
      }
      const real = await realpath(full).catch(() => null);
      if (!real) continue;
      if (target.isDirectory()) {
        if (!walked.has(real)) opts.onLinked?.(real);
        await walk(full);
      } else if (target.isFile() && isImageName(entry.name) && !seen.has(real)) {
        opts.onLinked?.(real);
        add(full, real);
      }
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
