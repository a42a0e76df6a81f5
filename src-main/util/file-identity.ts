/**
 * What a file was when a save read it — size, modification time, inode and a SHA-256 of its bytes — so that the
 * save can check, right before it renames its new content over the file, that nobody changed it meanwhile (lines
 * another program appended would otherwise be lost).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';

export interface FileIdentity {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly sha256: string;
}

/** The identity of `file` now; null when it does not exist. */
export async function fileIdentity(file: string): Promise<FileIdentity | null> {
  let st;
  try {
    st = await stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const sha256 = createHash('sha256').update(await readFile(file)).digest('hex');
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sha256 };
}

/**
 * `fileIdentity` without yielding to the event loop: for the last check right before a rename, so that nothing of
 * this process runs between the check and the rename (the window another program's write can fall into).
 */
export function fileIdentitySync(file: string): FileIdentity | null {
  let st;
  try {
    st = statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const sha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  return { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sha256 };
}

export function sameIdentity(a: FileIdentity | null, b: FileIdentity | null): boolean {
  if (a === null || b === null) return a === b;
  return a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino && a.sha256 === b.sha256;
}

/** A save refused because its file changed on disk after the save read it (a conflict, not a failure). */
export class FileChangedError extends Error {
  readonly code = 'conflict';
  constructor(readonly file: string) {
    super(`${file}: changed on disk while it was being saved (another program wrote to it); nothing was overwritten: reopen it and save again`);
    this.name = 'FileChangedError';
  }
}
