import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathExists } from './path-exists.ts';

/**
 * Replaces (or creates) the directory `target` as a whole: `fill` writes the new content into a fresh temporary
 * directory beside it, whose files are flushed to disk, and the temporary directory is renamed into place. An old
 * `target` is first moved aside and removed after the swap, so `target` only ever holds a complete old or new
 * content (a crash in the instant between the two renames leaves the old one as `.<name>.old-<hex>` beside it,
 * for `restoreMovedAside`). One writer per `target` at a time: leftovers of earlier crashed replacements (a
 * half-removed old copy, an unfinished temporary folder) are removed first, so a moved-aside copy found later is
 * always the complete one.
 */
export async function replaceDirAtomic(target: string, fill: (dir: string) => Promise<void>): Promise<void> {
  const parent = path.dirname(target);
  const name = path.basename(target);
  await mkdir(parent, { recursive: true });
  // A kill between the two renames of an earlier replacement left the old content aside: put it back first, so
  // that the leftovers removed next are never the only complete copy.
  await restoreMovedAside(target);
  await removeLeftovers(target);
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

/**
 * Undoes a crash in the instant between `replaceDirAtomic`'s two renames: when `target` is missing and an old
 * content was moved aside (`.<name>.old-<hex>`), the newest such copy is renamed back to `target`. Returns whether
 * it did. Call it only where no other writer can be replacing `target` at the same time (e.g. when a training
 * run starts on its own run folder).
 */
export async function restoreMovedAside(target: string): Promise<boolean> {
  const parent = path.dirname(target);
  const prefix = `.${path.basename(target)}.old-`;
  if (await pathExists(target)) return false;
  let names: string[];
  try {
    names = (await readdir(parent)).filter((n) => n.startsWith(prefix));
  } catch {
    return false;
  }
  if (names.length === 0) return false;
  const dated = await Promise.all(names.map(async (n) => ({ n, t: (await stat(path.join(parent, n))).mtimeMs })));
  dated.sort((a, b) => b.t - a.t);
  await rename(path.join(parent, dated[0]!.n), target);
  await removeLeftovers(target);
  return true;
}

/**
 * For readers: the folder holding `target`'s complete content right now — `target` itself, or, in the instant
 * between `replaceDirAtomic`'s two renames (or after a kill there), the newest moved-aside copy. Renames nothing
 * (a writer may be at work); null when neither exists.
 */
export async function readableDir(target: string): Promise<string | null> {
  if (await pathExists(target)) return target;
  const parent = path.dirname(target);
  const prefix = `.${path.basename(target)}.old-`;
  const names = (await readdir(parent).catch(() => [] as string[])).filter((n) => n.startsWith(prefix));
  const dated = await Promise.all(names.map(async (n) => ({ n, t: await stat(path.join(parent, n)).then((s) => s.mtimeMs, () => -1) })));
  const newest = dated.filter((d) => d.t >= 0).sort((a, b) => b.t - a.t)[0];
  return newest ? path.join(parent, newest.n) : null;
}

/** Removes `.<name>.old-*` and `.<name>.tmp-*` folders beside `target` (what crashed replacements left). */
export async function removeLeftovers(target: string): Promise<void> {
  const parent = path.dirname(target);
  const name = path.basename(target);
  const names = await readdir(parent).catch(() => [] as string[]);
  const stale = names.filter((n) => n.startsWith(`.${name}.old-`) || n.startsWith(`.${name}.tmp-`));
  await Promise.all(stale.map((n) => rm(path.join(parent, n), { recursive: true, force: true })));
}

/**
 * Gives `dst` the content of `src` (a file or a folder tree) without copying data where the file system allows:
 * files are hard links (copied where linking is refused), folders recreated. For carrying what a folder held into
 * its replacement built by `replaceDirAtomic` (later writes there replace files, never rewrite them in place).
 */
export async function linkTree(src: string, dst: string): Promise<void> {
  if (!(await stat(src)).isDirectory()) {
    await link(src, dst).catch(() => copyFile(src, dst));
    return;
  }
  await mkdir(dst, { recursive: true });
  for (const entry of await readdir(src, { withFileTypes: true })) {
    if (entry.isDirectory() || entry.isFile()) await linkTree(path.join(src, entry.name), path.join(dst, entry.name));
  }
}

/** Writes a file and flushes it to disk (for use inside `replaceDirAtomic`'s fresh directory). */
export { writeFileSynced } from './atomic-write.ts';
