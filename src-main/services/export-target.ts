/**
 * Where an export may write. Never into a hidden (dot) file or folder of the home directory (`~/.bashrc`,
 * `~/.ssh/…`). An existing file is replaced only when it is an earlier export's output, or when the user said so:
 * in the desktop app by choosing it in the save dialog (which asks before replacing) or answering the main
 * process's own question; in browser mode by the request's `overwrite: true` (the page asks first). Anything else
 * is refused, so a request naming some other file cannot replace it with CSV rows.
 */
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { conflict, ServiceError } from '../contract/errors.ts';

export interface ExportTargetPolicy {
  /** Files earlier exports wrote (they may be written again). */
  readonly previousExports: ReadonlySet<string>;
  /** Files the user chose in the native save dialog this session. */
  readonly chosenInDialog: ReadonlySet<string>;
  /** The request says to replace an existing file. */
  readonly overwrite: boolean;
  /** The desktop app's own question before replacing a file (absent in browser mode). */
  readonly confirmOverwrite?: (file: string) => Promise<boolean>;
  /** The home directory (default os.homedir()). */
  readonly home?: string;
}

/** The hidden entry of the home directory that `file` is in or is, or null. */
export function hiddenHomeEntry(file: string, home = os.homedir()): string | null {
  const rel = path.relative(path.resolve(home), path.resolve(file));
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  const hidden = rel.split(path.sep).find((part) => part.startsWith('.'));
  return hidden ?? null;
}

/** Throws (validation / conflict, one line naming the file) unless an export may write `file`. */
export async function checkExportTarget(file: string, policy: ExportTargetPolicy): Promise<void> {
  const target = path.resolve(file);
  const hidden = hiddenHomeEntry(target, policy.home);
  if (hidden) throw new ServiceError(`${target}: is in the hidden ${hidden} of the home folder; exports are never written there`, 'validation');
  const existing = await stat(target).catch(() => null);
  if (!existing || existing.isDirectory()) return; // a folder is refused later with its own reason
  if (policy.previousExports.has(target) || policy.chosenInDialog.has(target)) return;
  if (policy.confirmOverwrite) {
    if (await policy.confirmOverwrite(target)) return;
    throw conflict(`${target}: exists; not replaced`);
  }
  if (policy.overwrite) return;
  throw conflict(`${target}: exists and is not an earlier export; replace it only if you mean to (overwrite)`);
}

/** The files earlier exports wrote, kept in `<data>/exports.json` (the newest 1000). */
export class ExportRegistry {
  private readonly files: Set<string>;

  private constructor(
    private readonly file: string,
    files: readonly string[],
  ) {
    this.files = new Set(files);
  }

  static async open(dataDir: string): Promise<ExportRegistry> {
    const file = path.join(dataDir, 'exports.json');
    let files: string[] = [];
    try {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
      if (Array.isArray(parsed)) files = parsed.filter((p): p is string => typeof p === 'string');
    } catch {
      // none yet, or unreadable: no earlier exports known
    }
    return new ExportRegistry(file, files);
  }

  get known(): ReadonlySet<string> {
    return this.files;
  }

  async add(written: string): Promise<void> {
    const target = path.resolve(written);
    this.files.delete(target);
    this.files.add(target);
    const kept = [...this.files].slice(-1000);
    await writeFileAtomic(this.file, `${JSON.stringify(kept, null, 1)}\n`);
  }
}
