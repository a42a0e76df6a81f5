/** Helpers that build small dataset fixtures in temporary folders (no ../shared needed). */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A fresh temporary folder; `cleanup` removes it. */
export async function tempDir(prefix = 'cs-data-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes files (relative path → content; `null` = an empty placeholder image) under `dir`. */
export async function writeTree(dir: string, files: Record<string, string | Uint8Array | null>): Promise<void> {
  for (const [relative, content] of Object.entries(files)) {
    const full = path.join(dir, relative);
    await mkdir(path.dirname(full), { recursive: true });
    await writeFile(full, content ?? '');
  }
}
