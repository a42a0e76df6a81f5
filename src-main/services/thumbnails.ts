/**
 * Thumbnails for the dataset grid, made lazily with `data/images.makeThumbnail` and cached on disk under a key of
 * (real path, size, mtime, byte length), so an edited image gets a fresh one. Requests queue behind a small
 * concurrency limit, newest first: while the user scrolls, the rows now on screen are made before the ones that
 * scrolled away, and a request whose client has gone is dropped without work.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { makeThumbnail } from '../data/images.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

/** The sizes the UI asks for (others are rounded up to the next one, so the cache stays small). */
export const THUMB_SIZES = [96, 160, 256, 384] as const;

export interface ThumbnailResult {
  readonly data: Buffer;
  readonly mime: string;
  /** A strong validator for HTTP caching. */
  readonly etag: string;
}

interface Pending {
  readonly run: () => Promise<void>;
  readonly signal: AbortSignal | undefined;
  readonly reject: (err: unknown) => void;
}

/** The disk cache and its work queue. */
export class ThumbnailCache {
  private readonly queue: Pending[] = [];
  private active = 0;

  constructor(
    readonly dir: string,
    private readonly concurrency = 3,
  ) {}

  /** The thumbnail of an (already access-checked) image file, from the cache or made now. */
  async get(file: string, requestedSize: number, signal?: AbortSignal): Promise<ThumbnailResult> {
    const size = THUMB_SIZES.find((s) => s >= requestedSize) ?? THUMB_SIZES[THUMB_SIZES.length - 1]!;
    const st = await stat(file);
    const key = createHash('sha256').update(`${file}\0${size}\0${st.mtimeMs}\0${st.size}`).digest('hex');
    const cached = path.join(this.dir, key.slice(0, 2), `${key.slice(2, 40)}.jpg`);
    const etag = `"${key.slice(0, 32)}"`;
    try {
      return { data: await readFile(cached), mime: 'image/jpeg', etag };
    } catch {
      // not cached yet
    }
    return this.schedule(signal, async () => {
      const thumb = await makeThumbnail(file, size, { format: 'jpeg', quality: 78 });
      await writeFileAtomic(cached, thumb.data);
      return { data: thumb.data, mime: thumb.mime, etag };
    });
  }

  private schedule<T>(signal: AbortSignal | undefined, work: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ signal, reject, run: () => work().then(resolve, reject) });
      this.pump();
    });
  }

  private pump(): void {
    while (this.active < this.concurrency && this.queue.length > 0) {
      const next = this.queue.pop()!; // newest first
      if (next.signal?.aborted) {
        next.reject(new Error('thumbnail request cancelled'));
        continue;
      }
      this.active++;
      void next.run().finally(() => {
        this.active--;
        this.pump();
      });
    }
  }
}
