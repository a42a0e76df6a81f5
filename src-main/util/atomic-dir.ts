import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Replaces (or creates) the directory `target` as a whole: `fill` writes the new content into a fresh temporary
 * directory beside it, whose files are flushed to disk, and the temporary directory is renamed into place. An old
 * `target` is first moved aside and removed after the swap, so `target` only ever holds a complete old or new
 * content (a crash in the instant between the two renames leaves the old one as `.<name>.old-<hex>` beside it).
 */
export async function replaceDirAtomic(target: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(target);
  const name = path.basename(target);
  await mkdir(parent, { recursive: true });
  const suffix = randomBytes(6).toString('hex');
  const tmp = path.join(parent, `.${name}.tmp-${suffix}`);
  const old = path.join(parent, `.${name}.old-${suffix}`);
  await mkdir(tmp);
  try {
    await fill(tmp);
    let movedAside = false;
    try {
      await rename(target, old);
      movedAside = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    try {
      await rename(tmp, target);
    } catch (err) {
      if (movedAside) await rename(old, target);
      throw err;
    }
    if (movedAside) await rm(old, { recursive: true, force: true });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Writes a file and flushes it to disk (for use inside `replaceDirAtomic`'s fresh directory). */
export async function writeFileSynced(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(file, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
