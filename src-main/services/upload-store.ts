/**
 * Files dropped into the browser-mode page arrive as bytes, not paths: each is streamed to disk (never held in
 * memory whole) into this session's upload folder (its own numbered subfolder, so equal names never clash) and
 * captioned from there. Uploads are bounded: each at most MAX_UPLOAD_BYTES, at most MAX_CONCURRENT_UPLOADS at once,
 * at most MAX_SESSION_UPLOAD_BYTES in all; a refused, failed or aborted upload leaves nothing behind. Uploads are
 * removed when the caption job that used them ends (the page shows its own copy of the dropped files), all of them
 * when the server stops, and folders of earlier sessions whose process is gone at the next start.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeError } from '../util/atomic-write.ts';
import { ServiceError } from '../contract/errors.ts';
import type { MediaAccess } from './media-access.ts';

/** Largest upload accepted (the image loader's own limit). */
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
/** Uploads received at the same time (the page sends three at a time). */
export const MAX_CONCURRENT_UPLOADS = 4;
/** All uploads of one session together. */
export const MAX_SESSION_UPLOAD_BYTES = 2 * 1024 * 1024 * 1024;

/** The prefix of the default upload folders in the OS temp folder: `<prefix><pid>-<time>`. */
export const UPLOAD_DIR_PREFIX = 'caption-studio-uploads-';

/** An upload refused for its size or for too many at once; `status` is the HTTP status to answer with. */
export class UploadRefused extends ServiceError {
  constructor(
    message: string,
    readonly status: 413 | 429,
  ) {
    super(message, 'validation');
  }
}

/** A file name safe to create: the base name only, control and path characters replaced, at most 120 chars. */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const cleaned = base.replace(/[\u0000-\u001f<>:"|?*]/g, '_').replace(/^\.+/, '').trim().slice(-120);
  return cleaned || 'upload';
}

const MB = 1024 * 1024;

export class UploadStore {
  private count = 0;
  private active = 0;
  /** Bytes stored or being received this session. */
  private total = 0;

  constructor(
    readonly dir: string,
    private readonly media: MediaAccess,
    private readonly limits = { file: MAX_UPLOAD_BYTES, concurrent: MAX_CONCURRENT_UPLOADS, session: MAX_SESSION_UPLOAD_BYTES },
  ) {}

  /** Stores one uploaded file given whole (the desktop app's pasted images); returns its path. */
  async save(name: string, data: Uint8Array): Promise<string> {
    return this.saveStream(name, [data], data.byteLength);
  }

  /**
   * Streams one uploaded file to disk; returns its path. `declared` (Content-Length) is checked before anything
   * is written. Throws UploadRefused over a limit; whatever went wrong, nothing of this upload is left.
   */
  async saveStream(name: string, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, declared?: number): Promise<string> {
    const { file: fileLimit, concurrent, session } = this.limits;
    if (declared !== undefined && declared > fileLimit) throw new UploadRefused(`${name}: upload is over ${fileLimit / MB} MB`, 413);
    if (this.active >= concurrent) throw new UploadRefused(`${name}: ${concurrent} uploads are already in progress; try again when one has finished`, 429);
    if (this.total + (declared ?? 0) > session) throw new UploadRefused(`${name}: this session's uploads would exceed ${session / MB} MB; restart the server to clear them`, 413);
    this.active++;
    const folder = path.join(this.dir, String(++this.count));
    const file = path.join(folder, safeFileName(name));
    const tmp = path.join(folder, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
    let received = 0;
    try {
      await mkdir(folder, { recursive: true });
      const out = createWriteStream(tmp, { flags: 'wx' });
      const failed = new Promise<never>((_, reject) => out.once('error', (err) => reject(writeError(file, err))));
      failed.catch(() => {});
      try {
        for await (const chunk of body) {
          received += chunk.byteLength;
          this.total += chunk.byteLength;
          if (received > fileLimit) throw new UploadRefused(`${name}: upload is over ${fileLimit / MB} MB`, 413);
          if (this.total > session) throw new UploadRefused(`${name}: this session's uploads would exceed ${session / MB} MB; restart the server to clear them`, 413);
          if (!out.write(chunk)) await Promise.race([new Promise<void>((resolve) => out.once('drain', () => resolve())), failed]);
        }
        await Promise.race([new Promise<void>((resolve) => out.end(() => resolve())), failed]);
      } catch (err) {
        out.destroy();
        throw err;
      }
      await rename(tmp, file);
      await this.media.allow(folder);
      return file;
    } catch (err) {
      this.total -= received;
      await rm(folder, { recursive: true, force: true });
      throw err;
    } finally {
      this.active--;
    }
  }

  /** True for a file stored by this store (its own numbered subfolder of the upload folder). */
  holds(file: string): boolean {
    const rel = path.relative(this.dir, path.resolve(file));
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) && rel.split(path.sep).length === 2;
  }

  /** Deletes uploaded files (with their subfolders), e.g. once the job that used them has ended. */
  async remove(files: readonly string[]): Promise<void> {
    for (const file of files) if (this.holds(file)) await rm(path.dirname(path.resolve(file)), { recursive: true, force: true });
  }

  /** Uploads being received now. */
  get inProgress(): number {
    return this.active;
  }

  /** Deletes every upload of this session. */
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
    this.total = 0;
  }
}

/** Removes upload folders earlier sessions left in the OS temp folder when their process is gone (it was killed). */
export async function removeOrphanUploadDirs(tmpDir = os.tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(tmpDir).catch(() => [] as string[])) {
    const pid = new RegExp(`^${UPLOAD_DIR_PREFIX}(\\d+)-\\d+$`).exec(name)?.[1];
    if (!pid || Number(pid) === process.pid || processAlive(Number(pid))) continue;
    await rm(path.join(tmpDir, name), { recursive: true, force: true });
    removed.push(path.join(tmpDir, name));
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
