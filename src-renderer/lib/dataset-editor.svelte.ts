/**
 * The Datasets view's state: the open dataset, the caption edits made since it was opened or saved, and
 * undo/redo over them. An edit replaces one image's caption list (typing into the same caption within a moment
 * merges into one undo step), or many at once (a batch edit: one undo step). Saving sends only the images whose
 * captions changed.
 */
import type { DatasetItemView, DatasetStatsView, DatasetView } from '../../src-main/contract/types.ts';
import { api } from './api.ts';
import { app } from './app-state.svelte.ts';
import { escapeRegExp, type BatchChange } from './batch-edit.ts';

interface Edit {
  /** Each image it touched, with its captions before and after (one entry unless it was a batch edit). */
  changes: BatchChange[];
  readonly key: string;
  at: number;
}

/** Edits to the same caption closer than this merge into one undo step. */
const COALESCE_MS = 1200;

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export type DatasetFilter = 'all' | 'captioned' | 'uncaptioned' | 'edited' | 'train' | 'val' | 'test';

class DatasetEditor {
  view = $state.raw<DatasetView | null>(null);
  stats = $state.raw<DatasetStatsView | null>(null);
  /** Captions as edited, by item id (only items that were touched). */
  edited = $state<Record<string, readonly string[]>>({});
  private undoStack = $state<Edit[]>([]);
  private redoStack = $state<Edit[]>([]);
  private original = new Map<string, readonly string[]>();
  loading = $state(false);
  saving = $state(false);

  /** Opens a dataset (any format); drops unsaved edits of the previous one. */
  async open(path: string, format: string, imagesDir?: string): Promise<boolean> {
    this.loading = true;
    try {
      const view = await app.run(
        api.call('dataset.open', {
          path,
          ...(format !== 'auto' ? { format: format as 'sidecar' } : {}),
          ...(imagesDir ? { imagesDir } : {}),
        }),
      );
      if (!view) return false;
      if (this.view) void api.call('dataset.close', { datasetId: this.view.datasetId }).catch(() => {});
      this.original = new Map(view.items.map((i) => [i.id, i.captions]));
      this.view = view;
      this.stats = view.stats;
      this.edited = {};
      this.undoStack = [];
      this.redoStack = [];
      app.lastDataset = { path: view.path, format: view.format };
      return true;
    } finally {
      this.loading = false;
    }
  }

  captionsOf(item: DatasetItemView): readonly string[] {
    return this.edited[item.id] ?? item.captions;
  }

  /** Ids whose captions differ from what is on disk. */
  get dirtyIds(): string[] {
    return Object.keys(this.edited).filter((id) => !sameList(this.edited[id]!, this.original.get(id) ?? []));
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }
  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }
  get undoCount(): number {
    return this.undoStack.length;
  }

  private current(id: string): readonly string[] {
    return this.edited[id] ?? this.original.get(id) ?? [];
  }

  /** Sets an item's captions; `key` names what was edited so that steady typing merges into one step. */
  set(id: string, captions: readonly string[], key = `${id}:list`): void {
    const before = this.current(id);
    if (sameList(before, captions)) return;
    const last = this.undoStack.at(-1);
    const now = performance.now();
    if (last && last.key === key && now - last.at < COALESCE_MS && last.changes.length === 1 && last.changes[0]!.id === id) {
      last.changes = [{ id, before: last.changes[0]!.before, after: captions }];
      last.at = now;
      this.undoStack = [...this.undoStack];
    } else {
      this.undoStack = [...this.undoStack, { changes: [{ id, before, after: captions }], key, at: now }];
    }
    this.redoStack = [];
    this.edited[id] = captions;
  }

  /** Applies many images' new captions as one undo step (a batch edit planned against the current captions). */
  applyBatch(changes: readonly BatchChange[], key: string): number {
    const real = changes.filter((c) => !sameList(this.current(c.id), c.after)).map((c) => ({ id: c.id, before: this.current(c.id), after: c.after }));
    if (real.length === 0) return 0;
    this.undoStack = [...this.undoStack, { changes: real, key, at: -Infinity }];
    this.redoStack = [];
    const next = { ...this.edited };
    for (const c of real) next[c.id] = c.after;
    this.edited = next;
    return real.length;
  }

  /** Every item with its captions as edited (what a batch edit plans against). */
  currentItems(ids?: ReadonlySet<string>): { id: string; captions: readonly string[] }[] {
    const items = this.view?.items ?? [];
    return items.filter((i) => !ids || ids.has(i.id)).map((i) => ({ id: i.id, captions: this.captionsOf(i) }));
  }

  /** Ends merging: the next edit starts a new undo step. */
  seal(): void {
    const last = this.undoStack.at(-1);
    if (last) last.at = -Infinity;
  }

  /** Undoes the last edit; returns the (first) id it touched. */
  undo(): string | null {
    const edit = this.undoStack.at(-1);
    if (!edit) return null;
    this.undoStack = this.undoStack.slice(0, -1);
    this.redoStack = [...this.redoStack, edit];
    const next = { ...this.edited };
    for (const c of edit.changes) next[c.id] = c.before;
    this.edited = next;
    return edit.changes[0]!.id;
  }

  redo(): string | null {
    const edit = this.redoStack.at(-1);
    if (!edit) return null;
    this.redoStack = this.redoStack.slice(0, -1);
    this.undoStack = [...this.undoStack, { ...edit, at: -Infinity }];
    const next = { ...this.edited };
    for (const c of edit.changes) next[c.id] = c.after;
    this.edited = next;
    return edit.changes[0]!.id;
  }

  /** Writes every changed item back to the dataset's files (its own format, atomically). */
  async save(): Promise<boolean> {
    const view = this.view;
    if (!view) return false;
    const ids = this.dirtyIds;
    if (ids.length === 0) return true;
    this.saving = true;
    try {
      const changes = ids.map((id) => ({ id, captions: this.edited[id]!.map((c) => c.trim()).filter((c) => c !== '') }));
      const saved = await app.run(api.call('dataset.save', { datasetId: view.datasetId, changes }));
      if (!saved) return false;
      for (const change of changes) this.original.set(change.id, change.captions);
      this.view = { ...view, items: view.items.map((item) => (this.original.has(item.id) ? { ...item, captions: this.original.get(item.id)! } : item)) };
      this.edited = {};
      this.stats = saved.stats;
      app.toast(`Saved ${saved.changed} image${saved.changed === 1 ? '' : 's'} to ${saved.path} (${saved.format})`, 'success');
      return true;
    } finally {
      this.saving = false;
    }
  }

  /** The items that match a search text, a filter and (when given) use a word in a caption. */
  filter(query: string, filter: DatasetFilter, word: string | null = null): DatasetItemView[] {
    const view = this.view;
    if (!view) return [];
    const q = query.trim().toLowerCase();
    // Whole words, as the tokenizer splits them (letters and digits; case does not matter).
    const wordPattern = word ? new RegExp(`(^|[^\\p{L}\\p{N}])${escapeRegExp(word)}($|[^\\p{L}\\p{N}])`, 'iu') : null;
    return view.items.filter((item) => {
      const captions = this.captionsOf(item);
      switch (filter) {
        case 'captioned':
          if (captions.length === 0) return false;
          break;
        case 'uncaptioned':
          if (captions.length > 0) return false;
          break;
        case 'edited':
          if (!(item.id in this.edited) || sameList(this.edited[item.id]!, this.original.get(item.id) ?? [])) return false;
          break;
        case 'train':
        case 'val':
        case 'test':
          if (item.split !== filter) return false;
          break;
        case 'all':
          break;
      }
      if (wordPattern && !captions.some((c) => wordPattern.test(c))) return false;
      return q === '' || item.id.toLowerCase().includes(q) || captions.some((c) => c.toLowerCase().includes(q));
    });
  }
}

export const datasetEditor = new DatasetEditor();
