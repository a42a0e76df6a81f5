/**
 * What killed saves leave in the app's own folders, cleared at start: temporary files of ours older than a minute
 * (`.<name>.<hex>.tmp`: settings, run requests, model files of the old two-file saves), a model or checkpoint
 * folder moved aside by a kill in the middle of its atomic swap (put back), the temporary and moved-aside
 * folders of swaps (`.<name>.tmp-<hex>`, `.<name>.old-<hex>`), and unfinished imports (`<id>.importing`).
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { removeLeftovers, restoreMovedAside } from '../util/atomic-dir.ts';
import { removeStaleTempFiles } from '../util/atomic-write.ts';

const SWAP_FOLDER = /^\.(.+)\.(?:old|tmp)-[0-9a-f]{12}$/;

async function folders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => e.name);
}

/** Puts back what swaps of `dir`'s sub-folders moved aside, then removes their swap folders and our stale temp files. */
async function clearFolder(dir: string): Promise<string[]> {
  const removed = await removeStaleTempFiles(dir);
  const names = await folders(dir);
  const swapped = new Set(names.flatMap((n) => SWAP_FOLDER.exec(n)?.[1] ?? []));
  for (const name of swapped) {
    await restoreMovedAside(path.join(dir, name)).catch(() => false);
    await removeLeftovers(path.join(dir, name)).catch(() => {});
    removed.push(path.join(dir, `.${name}.*`));
  }
  return removed;
}

/** Clears the leftovers of killed saves under the data folder; returns what it removed or restored (for logs and tests). */
export async function clearLeftovers(dataDir: string, modelsDir: string, runsDir: string): Promise<string[]> {
  const removed = await removeStaleTempFiles(dataDir);
  removed.push(...(await clearFolder(modelsDir)));
  for (const name of await folders(modelsDir)) {
    const dir = path.join(modelsDir, name);
    if (name.endsWith('.importing')) {
      await rm(dir, { recursive: true, force: true });
      removed.push(dir);
    } else if (!name.startsWith('.')) {
      removed.push(...(await removeStaleTempFiles(dir)));
    }
  }
  for (const name of await folders(runsDir)) {
    if (name.startsWith('.')) continue;
    const run = path.join(runsDir, name);
    removed.push(...(await clearFolder(run)));
    for (const sub of await folders(run)) if (!sub.startsWith('.')) removed.push(...(await removeStaleTempFiles(path.join(run, sub))));
  }
  return removed;
}
