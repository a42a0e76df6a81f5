/**
 * Files dropped into the browser-mode page arrive as bytes, not paths: each is written into this session's
 * upload folder (its own numbered subfolder, so equal names never clash) and captioned from there.
 */
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { ServiceError } from '../contract/errors.ts';
import type { MediaAccess } from './media-access.ts';

/** Largest upload accepted (the image loader's own limit). */
export const MAX_UPLOAD_BYTES = 100 * 1024 * 1024;

/** A file name safe to create: the base name only, control and path characters replaced, at most 120 chars. */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const cleaned = base.replace(/[\u0000-\u001f<>:"|?*]/g, '_').replace(/^\.+/, '').trim().slice(-120);
  return cleaned || 'upload';
}

export class UploadStore {
  private count = 0;

  constructor(
    readonly dir: string,
    private readonly media: MediaAccess,
  ) {}

  /** Stores one uploaded file; returns its path. */
  async save(name: string, data: Uint8Array): Promise<string> {
    if (data.byteLength > MAX_UPLOAD_BYTES) throw new ServiceError(`${name}: upload is over ${MAX_UPLOAD_BYTES / 1024 / 1024} MB`, 'validation');
    const folder = path.join(this.dir, String(++this.count));
    await mkdir(folder, { recursive: true });
    const file = path.join(folder, safeFileName(name));
    await writeFileAtomic(file, data);
    await this.media.allow(folder);
    return file;
  }

  /** Deletes every upload of this session. */
  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
