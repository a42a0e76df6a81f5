/**
 * Which local files the UI may load as images: only files inside folders the user opened or dropped (or the
 * single files dropped), and only with an image extension. Every check resolves symlinks first (realpath), so
 * neither `..` nor a link can lead outside. Shared by the browser mode's image route and Electron's protocol.
 */
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { IMAGE_EXTENSIONS } from '../data/formats/common.ts';
import { ForbiddenPathError } from '../contract/errors.ts';

/** True when `child` is `parent` or lies below it (both absolute and already resolved). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** The set of granted folders and files, and the checks against it. */
export class MediaAccess {
  private readonly dirs = new Set<string>();
  private readonly files = new Set<string>();
  private readonly outputs = new Set<string>();

  /** Grants a folder (everything below it) or a single file. Missing paths are ignored. */
  async allow(target: string): Promise<void> {
    let real: string;
    try {
      real = await realpath(path.resolve(target));
    } catch {
      return;
    }
    const st = await stat(real);
    if (st.isDirectory()) this.dirs.add(real);
    else this.files.add(real);
  }

  /** Grants a file this session wrote (an export), for download only. */
  async allowOutput(file: string): Promise<void> {
    this.outputs.add(await realpath(path.resolve(file)));
  }

  /** The granted folders (for tests and diagnostics). */
  grantedFolders(): string[] {
    return [...this.dirs];
  }

  /**
   * The real path of an image the UI may read; throws ForbiddenPathError (one line) for anything else: a
   * relative path, a file outside the granted folders, a non-image extension, a folder, a missing file.
   */
  async resolveImage(requested: string): Promise<string> {
    if (typeof requested !== 'string' || requested === '' || requested.includes('\0')) throw new ForbiddenPathError('image path: missing or malformed');
    if (!path.isAbsolute(requested)) throw new ForbiddenPathError(`image path must be absolute: ${requested}`);
    let real: string;
    try {
      real = await realpath(requested);
    } catch {
      throw new ForbiddenPathError(`image not found or not allowed: ${requested}`);
    }
    if (!IMAGE_EXTENSIONS.has(path.extname(real).toLowerCase())) throw new ForbiddenPathError(`not an image file: ${requested}`);
    const granted = this.files.has(real) || [...this.dirs].some((dir) => isInside(dir, real));
    if (!granted) throw new ForbiddenPathError(`outside the folders opened in this session: ${requested}`);
    const st = await stat(real);
    if (!st.isFile()) throw new ForbiddenPathError(`not a file: ${requested}`);
    return real;
  }

  /** The real path of a file this session wrote; throws ForbiddenPathError for anything else. */
  async resolveOutput(requested: string): Promise<string> {
    let real: string;
    try {
      real = await realpath(path.resolve(requested));
    } catch {
      throw new ForbiddenPathError(`file not found or not allowed: ${requested}`);
    }
    if (!this.outputs.has(real)) throw new ForbiddenPathError(`not a file written in this session: ${requested}`);
    return real;
  }
}
