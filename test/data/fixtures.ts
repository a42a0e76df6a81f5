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

/** The Error a promise rejects with (fails the test if it resolves or rejects with a non-Error). */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error) return err;
    throw new Error(`rejected with a non-Error: ${String(err)}`);
  }
  throw new Error('expected a rejection, but the promise resolved');
}
