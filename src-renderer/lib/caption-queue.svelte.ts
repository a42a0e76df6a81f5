/**
 * The Caption view's state: the cards of captioned images (newest batch first, each batch in file order), the running caption jobs and
 * uploads. Items stream in as the backend finishes each image; one that fails shows its error inline. The cards,
 * with the user's edits, are kept in the browser's IndexedDB, so a reload (or the next start) shows them again.
 */
import { del, get, set } from 'idb-keyval';
import type { CaptionAlternative, CaptionItem, CaptionsWritten, ImageTag, JobSummary } from '../../src-main/contract/types.ts';
import { api } from './api.ts';
import { app } from './app-state.svelte.ts';
import { withOverwriteConsent } from './overwrite.ts';

const STORE_KEY = 'caption-studio.caption-cards';
/** The newest cards kept across reloads. */
const MAX_KEPT = 5000;
const SAVE_DELAY_MS = 400;

export interface CaptionCard {
  readonly key: string;
  readonly path: string;
  readonly name: string;
  readonly ok: boolean;
  /** The caption as the user edited it (starts as the model's best). */
  text: string;
  readonly original: string;
  readonly score: number;
  readonly alternatives: readonly CaptionAlternative[];
  readonly tags: readonly ImageTag[];
  readonly error: string;
  readonly modelId: string;
  /** The model's name when the card was made (written into exports). */
  readonly modelName?: string;
  /** The caption job it came from. */
  readonly jobId: string;
}

class CaptionQueue {
  cards = $state<CaptionCard[]>([]);
  /** Jobs started from this view, newest first. */
  jobIds = $state<string[]>([]);
  uploading = $state<{ done: number; total: number } | null>(null);
  private readonly early = new Map<string, CaptionItem[]>();
  private serial = 0;
  /** Cards restored from the last session are in place (edits before that would be overwritten). */
  restored = $state(false);
  /** The page's own copies of dropped files, by backend path: the uploaded copy is removed when its job ends. */
  private readonly previews = new Map<string, string>();

  constructor() {
    void this.restore();
    $effect.root(() => {
      $effect(() => {
        if (!this.restored) return;
        const snapshot = $state.snapshot(this.cards).slice(0, MAX_KEPT);
        this.unsaved = snapshot;
        const timer = setTimeout(() => this.persist(), SAVE_DELAY_MS);
        return () => clearTimeout(timer);
      });
    });
    // Leaving or reloading the page right after an edit: the pending write starts now, not after the delay.
    addEventListener('pagehide', () => this.persist());
    api.onEvent((event) => {
      if (event.type !== 'caption') return;
      if (this.jobIds.includes(event.jobId)) this.add(event.item, event.jobId);
      else {
        // The event may beat the reply to caption.start: keep it until the job id is known.
        const list = this.early.get(event.jobId) ?? [];
        list.push(event.item);
        this.early.set(event.jobId, list);
        if (this.early.size > 20) this.early.delete(this.early.keys().next().value!);
      }
    });
  }

  /** The cards not yet written to IndexedDB (null when the store is up to date). */
  private unsaved: CaptionCard[] | null = null;

  private persist(): void {
    const snapshot = this.unsaved;
    if (!snapshot) return;
    this.unsaved = null;
    void (snapshot.length ? set(STORE_KEY, snapshot) : del(STORE_KEY)).catch(() => {});
  }

  private async restore(): Promise<void> {
    try {
      const saved = (await get(STORE_KEY)) as CaptionCard[] | undefined;
      if (Array.isArray(saved) && saved.length) {
        // Cards that arrived meanwhile stay first; keys are renewed so they never collide with new ones.
        const old = saved.filter((c) => c && typeof c.path === 'string').map((c) => ({ ...c, key: `c${++this.serial}` }));
        this.cards = [...this.cards, ...old];
      }
    } catch {
      // IndexedDB unavailable (private window, blocked storage): the cards live only as long as the page
    } finally {
      this.restored = true;
    }
  }

  /** Writes the captions shown (as edited) as a CSV / JSONL file, or as caption files beside local images. */
  async write(format: 'csv' | 'jsonl' | 'sidecar', outPath?: string, overwrite = false): Promise<CaptionsWritten | null> {
    const items = this.cards.filter((c) => c.ok).map((c) => ({ path: c.path, caption: c.text, score: c.score, model: c.modelName ?? c.modelId }));
    if (items.length === 0) return null;
    const request = (replace: boolean) => api.call('captions.write', { items, format, ...(outPath ? { outPath } : {}), ...(overwrite || replace ? { overwrite: true } : {}) });
    return app.run(format === 'sidecar' ? request(false) : withOverwriteConsent(request, 'Replace this file with the captions?'));
  }

  /** The jobs of this view that have not finished. */
  get active(): JobSummary[] {
    return this.jobIds.flatMap((id) => {
      const job = app.jobs[id];
      return job && (job.state === 'running' || job.state === 'queued' || job.state === 'paused') ? [job] : [];
    });
  }

  /** Adds a card after the cards of its own batch (a new batch starts at the top). */
  private add(item: CaptionItem, jobId: string): void {
    const card: CaptionCard = item.ok
      ? { key: `c${++this.serial}`, path: item.path, name: item.name, ok: true, text: item.caption, original: item.caption, score: item.score, alternatives: item.alternatives, tags: item.tags, error: '', modelId: item.modelId, modelName: app.models.find((m) => m.id === item.modelId)?.name ?? item.modelId, jobId }
      : { key: `c${++this.serial}`, path: item.path, name: item.name, ok: false, text: '', original: '', score: 0, alternatives: [], tags: [], error: item.error, modelId: '', jobId };
    const last = this.cards.findLastIndex((c) => c.jobId === jobId);
    this.cards = last < 0 ? [card, ...this.cards] : [...this.cards.slice(0, last + 1), card, ...this.cards.slice(last + 1)];
  }

  /** Captions files from a drop, paste or file input (uploaded first in browser mode). */
  async captionFiles(files: readonly File[]): Promise<void> {
    this.uploading = { done: 0, total: files.length };
    let paths: string[] | null;
    try {
      paths = await app.run(api.pathsForFiles(files, (done, total) => (this.uploading = { done, total })));
    } finally {
      this.uploading = null;
    }
    if (paths?.length) {
      paths.forEach((p, i) => {
        const file = files[i];
        if (file && !this.previews.has(p)) this.previews.set(p, URL.createObjectURL(file));
      });
      await this.captionPaths(paths);
    }
  }

  /** The page's own copy of a dropped file, to show instead of the backend's (gone once its job ended). */
  previewOf(path: string): string | undefined {
    return this.previews.get(path);
  }

  /** Captions files or folders given by path. */
  async captionPaths(paths: readonly string[]): Promise<void> {
    const job = await app.run(api.call('caption.start', { paths: [...paths] }));
    if (!job) return;
    app.addJob(job);
    this.jobIds = [job.id, ...this.jobIds];
    for (const item of this.early.get(job.id) ?? []) this.add(item, job.id);
    this.early.delete(job.id);
  }

  clear(): void {
    this.cards = [];
    for (const url of this.previews.values()) URL.revokeObjectURL(url);
    this.previews.clear();
  }
}

export const captionQueue = new CaptionQueue();
