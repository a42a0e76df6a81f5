import { randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, fstatSync, openSync, readSync, renameSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { FileChangedError, fileIdentity, fileIdentitySync, sameIdentity, type FileIdentity } from './file-identity.ts';

/** The name of a temporary file `writeFileAtomic` writes beside `target`: `.<name>.<12 hex>.tmp`. */
function tempName(target: string): string {
  return `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`;
}

/** True for a file name of our temporary files (what a killed save leaves behind). */
export function isOurTempFile(name: string): boolean {
  return /^\..+\.[0-9a-f]{12}\.tmp$/.test(name);
}

/** Temporary files this process is writing now (never swept as stale). */
const inFlight = new Set<string>();

/** How old a temporary file of ours must be to count as left by a killed save (not one another process is writing). */
export const STALE_TEMP_MS = 60_000;

/**
 * Removes the temporary files of ours that killed saves left in `dir` — only those for `forName` when given —
 * when older than `STALE_TEMP_MS`; returns their paths. Never fails (cleaning up must not stop a save).
 */
export async function removeStaleTempFiles(dir: string, forName?: string, now = Date.now()): Promise<string[]> {
  const prefix = forName === undefined ? '.' : `.${forName}.`;
  const names = await readdir(dir).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const file = path.join(dir, name);
    if (!name.startsWith(prefix) || !isOurTempFile(name) || inFlight.has(file)) continue;
    if (forName !== undefined && name.length !== prefix.length + 16) continue; // `.<forName>.<12 hex>.tmp` exactly
    try {
      const st = await stat(file);
      if (!st.isFile() || now - st.mtimeMs < STALE_TEMP_MS) continue;
      await rm(file, { force: true });
      removed.push(file);
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed;
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
  EFBIG: 'file too large',
};

/** A write error as one line naming the file being written (Node's ENOSPC message names no file). */
export function writeError(file: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const reason = (code && REASONS[code]) ?? (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
  const out = new Error(`${file}: cannot write (${reason})`) as NodeJS.ErrnoException;
  if (code) out.code = code;
  return out;
}

/**
 * Writes a file and flushes it to disk; errors name `shownAs` (default the file itself), the file the user
 * knows of.
 */
export async function writeFileSynced(file: string, data: string | Uint8Array, shownAs = file): Promise<void> {
  try {
    const handle = await open(file, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw writeError(shownAs, err);
  }
}

export interface AtomicWriteOptions {
  /**
   * The target as the caller read it (null: it did not exist). Checked again right before the rename: when the
   * file changed meanwhile, nothing is overwritten and FileChangedError is thrown. Bytes another program appends
   * to the replaced file after that check — before the rename, or up to ~100 ms after it through a descriptor
   * opened before it — are appended to the new content (`carryOverAppended`).
   */
  readonly unchangedSince?: FileIdentity | null;
}

/**
 * Writes a file so that readers see either the old content or the new, never a torn one: the data goes to a
 * temporary file in the same directory, is flushed to disk, and is renamed over the target. Errors (disk full…)
 * name the target.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const dir = path.dirname(target);
  await mkdir(dir, { recursive: true });
  const tmp = path.join(dir, tempName(target));
  inFlight.add(tmp);
  try {
    await writeFileSynced(tmp, data, target);
    const expected = options.unchangedSince;
    // The file being replaced stays open from before the check until after the rename: whatever another program
    // appends to it in between (the check reads and hashes the whole file; the process may be descheduled) lands
    // in it and is carried over into the new file below, so no appended line is ever lost.
    const replaced = expected ? openExisting(target) : null;
    try {
      // The check and the rename run back to back, synchronously: no await between them. The file held open must
      // be the one checked, not one another program renamed into place since it was opened.
      if (expected !== undefined && !sameIdentity(expected, fileIdentitySync(target))) throw new FileChangedError(target);
      if (expected && replaced !== null && fstatSync(replaced).ino !== expected.ino) throw new FileChangedError(target);
      try {
        renameSync(tmp, target);
      } catch (err) {
        throw writeError(target, err);
      }
      if (expected && replaced !== null) {
        // A program that opened the old file just before the rename writes into it just after: keep looking for a
        // little while (it appends per line, so its open and its write are close together).
        let carried = carryOverAppended(replaced, expected.size, target);
        for (let look = 0; look < LATE_APPEND_LOOKS; look++) {
          await new Promise((resolve) => setTimeout(resolve, LATE_APPEND_MS));
          carried = carryOverAppended(replaced, carried, target);
        }
      }
    } finally {
      if (replaced !== null) closeSync(replaced);
    }
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  } finally {
    inFlight.delete(tmp);
  }
}

/**
 * After renaming over a file that `unchangedSince` guards, how many times and how far apart `writeFileAtomic` looks
 * again for lines written into the replaced file: by a program that opened it before the rename and wrote after (a
 * per-line appender under full load: the dataset-conflict stress test lost such a line about once in a few runs
 * before these looks). A descriptor held open for longer than that (a logger) keeps writing into the replaced file.
 */
const LATE_APPEND_LOOKS = 4;
const LATE_APPEND_MS = 25;

/** A read descriptor of `file`, or null when it does not exist. */
function openExisting(file: string): number | null {
  try {
    return openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Appends to `target` what was written into the replaced file (still open as `fd`) beyond `checkedSize`, the size
 * the last check saw (or the last carry-over reached): lines another program appended after that check. They follow
 * the new content, possibly after lines appended to the new file meanwhile — out of order at worst, never lost.
 * Returns how far the replaced file has now been carried over.
 */
export function carryOverAppended(fd: number, checkedSize: number, target: string): number {
  const size = fstatSync(fd).size;
  if (size <= checkedSize) return checkedSize;
  const tail = Buffer.alloc(size - checkedSize);
  const read = readSync(fd, tail, 0, tail.length, checkedSize);
  try {
    appendFileSync(target, tail.subarray(0, read));
  } catch (err) {
    throw writeError(target, err);
  }
  return checkedSize + read;
}
