/**
 * The Datasets view's state: the open dataset (its item list arrives in parts), the caption edits made since it
 * was opened or saved, which captions a model wrote and nobody accepted yet, and undo/redo over all of it. An edit
 * replaces one image's caption list (typing into the same caption within a moment merges into one undo step), or
 * many at once (a batch edit, a model's captions, accepting them: one undo step each). A machine-written caption
 * edited by hand is the user's own. Saving sends only the images whose captions or marks changed.
 */
import type { CaptionItem, DatasetItemView, DatasetStatsView, DatasetView } from '../../src-main/contract/types.ts';
import { api } from './api.ts';
import { app } from './app-state.svelte.ts';
import { escapeRegExp, type BatchChange } from './batch-edit.ts';

/** One image's machine-written marks before and after an edit. */
interface MarkChange {
  readonly id: string;
  readonly before: readonly string[];
  readonly after: readonly string[];
}

interface Edit {
  /** Each image it touched, with its captions before and after (one entry unless it was a batch edit). */
  changes: BatchChange[];
  /** Machine-written marks it changed (a model's captions added, accepted, carried through a batch edit). */
  marks?: MarkChange[];
  readonly key: string;
  at: number;
}

/** Edits to the same caption closer than this merge into one undo step. */
const COALESCE_MS = 1200;

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export type DatasetFilter = 'all' | 'captioned' | 'uncaptioned' | 'edited' | 'machine' | 'train' | 'val' | 'test';

/** Items asked for per `dataset.items` call while the rest of a large dataset arrives. */
const PAGE = 5000;

/** A caption job started from the Datasets view: which images it captions and what came back so far. */
export interface MachineRun {
  readonly jobId: string;
  readonly datasetId: string;
  readonly total: number;
  readonly modelName: string;
}

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
  /** Items not yet received of the open dataset (0 once the whole list is here). */
  pending = $state(0);
  /** Machine-written captions not yet accepted, by id (kept as they were: only those still among the captions count). */
  machine = $state<Record<string, readonly string[]>>({});
  private savedMachine = new Map<string, readonly string[]>();
  /** The caption job running for this dataset, if any. */
  run = $state<MachineRun | null>(null);
  /** Lower-cased search text of items whose captions are not edited (the search runs on every key press). */
  private haystacks = new WeakMap<DatasetItemView, string>();

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
      this.savedMachine = new Map(view.items.flatMap((i) => (i.machine ? [[i.id, i.machine] as const] : [])));
      this.machine = Object.fromEntries(this.savedMachine);
      this.view = view;
      this.stats = view.stats;
      this.edited = {};
      this.undoStack = [];
      this.redoStack = [];
      this.pending = view.total - view.items.length;
      app.lastDataset = { path: view.path, format: view.format };
      if (this.pending > 0) void this.fetchRest(view.datasetId);
      return true;
    } finally {
      this.loading = false;
    }
  }

  /** Asks for the rest of the item list, a part at a time, while the first part is already shown. */
  private async fetchRest(datasetId: string): Promise<void> {
    while (this.view?.datasetId === datasetId && this.pending > 0) {
      const offset = this.view.items.length;
      const part = await app.run(api.call('dataset.items', { datasetId, offset, limit: PAGE }));
      if (!part || this.view?.datasetId !== datasetId || this.view.items.length !== offset) return;
      for (const item of part.items) {
        this.original.set(item.id, item.captions);
        if (item.machine) this.savedMachine.set(item.id, item.machine);
      }
      const marked = part.items.filter((i) => i.machine);
      if (marked.length) this.machine = { ...this.machine, ...Object.fromEntries(marked.map((i) => [i.id, i.machine!])) };
      this.view = { ...this.view, items: [...this.view.items, ...part.items] };
      this.pending = part.items.length ? Math.max(0, this.view.total - this.view.items.length) : 0;
    }
  }

  /** The machine-written captions of an item that are still among its captions (as edited). */
  machineOf(id: string): readonly string[] {
    const marked = this.machine[id];
    if (!marked?.length) return [];
    const captions = this.current(id);
    return marked.filter((c) => captions.includes(c));
  }

  /** How many images have machine-written captions nobody accepted yet. */
  get machineCount(): number {
    return Object.keys(this.machine).filter((id) => this.machineOf(id).length > 0).length;
  }

  private markDirty(id: string): boolean {
    return !sameList(this.machineOf(id), this.savedMachine.get(id) ?? []);
  }

  captionsOf(item: DatasetItemView): readonly string[] {
    return this.edited[item.id] ?? item.captions;
  }

  /** Ids whose captions differ from what is on disk. */
  get dirtyIds(): string[] {
    const ids = new Set(Object.keys(this.edited).filter((id) => !sameList(this.edited[id]!, this.original.get(id) ?? [])));
    for (const id of Object.keys(this.machine)) if (this.markDirty(id)) ids.add(id);
    return [...ids];
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
    // A machine-written caption a batch edit rewrote is still the model's (the i-th caption became the i-th one).
    const marks = real.flatMap((c): MarkChange[] => {
      const before = this.machineOf(c.id);
      if (before.length === 0) return [];
      const after = c.before.length === c.after.length ? c.after.filter((_, i) => before.includes(c.before[i]!)) : before.filter((m) => c.after.includes(m));
      return [{ id: c.id, before: this.machine[c.id] ?? [], after }];
    });
    this.push({ changes: real, marks, key, at: -Infinity });
    return real.length;
  }

  /** Records an edit as one undo step and applies it. */
  private push(edit: Edit): void {
    this.undoStack = [...this.undoStack, edit];
    this.redoStack = [];
    this.applyEdit(edit, 'after');
  }

  private applyEdit(edit: Edit, side: 'before' | 'after'): void {
    if (edit.changes.length) {
      const next = { ...this.edited };
      for (const c of edit.changes) next[c.id] = c[side];
      this.edited = next;
    }
    if (edit.marks?.length) {
      const next = { ...this.machine };
      for (const m of edit.marks) next[m.id] = m[side];
      this.machine = next;
    }
  }

  /** Adds a model's captions (one per image, after its own) as one undo step, marked machine-written. */
  addMachineCaptions(results: readonly { id: string; caption: string }[]): number {
    const changes: BatchChange[] = [];
    const marks: MarkChange[] = [];
    for (const { id, caption } of results) {
      const before = this.current(id);
      const text = caption.trim();
      if (!text || before.includes(text) || !this.original.has(id)) continue;
      changes.push({ id, before, after: [...before, text] });
      marks.push({ id, before: this.machine[id] ?? [], after: [...this.machineOf(id), text] });
    }
    if (changes.length) this.push({ changes, marks, key: 'machine', at: -Infinity });
    return changes.length;
  }

  /** Accepts the machine-written captions of the given images (all when none given) as the user's: one undo step. */
  acceptMachine(ids?: readonly string[]): number {
    const marks = (ids ?? Object.keys(this.machine)).filter((id) => this.machineOf(id).length > 0).map((id) => ({ id, before: this.machine[id] ?? [], after: [] }));
    if (marks.length) this.push({ changes: [], marks, key: 'accept', at: -Infinity });
    return marks.length;
  }

  /**
   * Captions the given images with a model (a caption job, shown with the other jobs); when it ends, what it wrote
   * is added to the images as machine-written captions in one undo step. Returns false when it could not start.
   */
  async captionWithModel(ids: readonly string[], modelId: string | undefined, modelName: string): Promise<boolean> {
    const view = this.view;
    if (!view || ids.length === 0 || this.run) return false;
    const byId = new Map(view.items.map((i) => [i.id, i]));
    const idOf = new Map<string, string>();
    for (const id of ids) {
      const item = byId.get(id);
      if (item) idOf.set(item.imagePath, id);
    }
    const got = new Map<string, CaptionItem[]>();
    let jobId: string | null = null;
    let failed = 0;
    const results: { id: string; caption: string }[] = [];
    const finish = (state: string): void => {
      off();
      this.run = null;
      if (this.view?.datasetId !== view.datasetId) return;
      const added = this.addMachineCaptions(results);
      const more = failed ? ` · ${failed} failed (see the job)` : '';
      app.toast(`${modelName}: ${added.toLocaleString()} machine-written caption${added === 1 ? '' : 's'} added${state === 'cancelled' ? ' before the job was cancelled' : ''}${more}. Accept them (Shift+A) or edit them; Ctrl+Z takes them back.`, added ? 'success' : 'info');
    };
    const take = (item: CaptionItem): void => {
      const id = idOf.get(item.path);
      if (!item.ok) failed++;
      else if (id !== undefined) results.push({ id, caption: item.caption });
    };
    const off = api.onEvent((event) => {
      if (event.type === 'caption') {
        // The first results may beat the reply to caption.start.
        if (jobId === null) got.set(event.jobId, [...(got.get(event.jobId) ?? []), event.item]);
        else if (event.jobId === jobId) take(event.item);
      } else if (event.type === 'job' && event.job.id === jobId && ['done', 'failed', 'cancelled', 'interrupted'].includes(event.job.state)) {
        finish(event.job.state);
      }
    });
    const job = await app.run(api.call('caption.start', { paths: [...idOf.keys()], ...(modelId ? { modelId } : {}) }));
    if (!job) {
      off();
      return false;
    }
    jobId = job.id;
    app.addJob(job);
    this.run = { jobId: job.id, datasetId: view.datasetId, total: idOf.size, modelName };
    for (const item of got.get(job.id) ?? []) take(item);
    got.clear();
    const now = app.jobs[job.id]?.state ?? job.state;
    if (['done', 'failed', 'cancelled', 'interrupted'].includes(now)) finish(now);
    return true;
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
    this.applyEdit(edit, 'before');
    return (edit.changes[0] ?? edit.marks?.[0])?.id ?? null;
  }

  redo(): string | null {
    const edit = this.redoStack.at(-1);
    if (!edit) return null;
    this.redoStack = this.redoStack.slice(0, -1);
    this.undoStack = [...this.undoStack, { ...edit, at: -Infinity }];
    this.applyEdit(edit, 'after');
    return (edit.changes[0] ?? edit.marks?.[0])?.id ?? null;
  }

  /** Writes every changed item back to the dataset's files (its own format, atomically). */
  async save(): Promise<boolean> {
    const view = this.view;
    if (!view) return false;
    const ids = this.dirtyIds;
    if (ids.length === 0) return true;
    this.saving = true;
    try {
      const changes = ids.filter((id) => id in this.edited && !sameList(this.edited[id]!, this.original.get(id) ?? [])).map((id) => ({ id, captions: this.edited[id]!.map((c) => c.trim()).filter((c) => c !== '') }));
      const machine = ids.filter((id) => this.markDirty(id)).map((id) => ({ id, captions: this.machineOf(id).map((c) => c.trim()) }));
      const saved = await app.run(api.call('dataset.save', { datasetId: view.datasetId, changes, ...(machine.length ? { machine } : {}) }));
      if (!saved) return false;
      for (const change of changes) this.original.set(change.id, change.captions);
      const marks = { ...this.machine };
      for (const m of machine) {
        if (m.captions.length) this.savedMachine.set(m.id, m.captions);
        else this.savedMachine.delete(m.id);
        if (m.captions.length) marks[m.id] = m.captions;
        else delete marks[m.id];
      }
      this.machine = marks;
      const changed = new Set(changes.map((c) => c.id));
      const current = this.view ?? view;
      this.view = { ...current, items: current.items.map((item) => (changed.has(item.id) ? { ...item, captions: this.original.get(item.id)! } : item)) };
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
        case 'machine':
          if (!(item.id in this.machine) || this.machineOf(item.id).length === 0) return false;
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
      return q === '' || this.haystack(item, captions).includes(q);
    });
  }

  /** The item's name and captions in lower case, one string (kept per item while its captions are unedited). */
  private haystack(item: DatasetItemView, captions: readonly string[]): string {
    if (captions !== item.captions) return `${item.id}\n${captions.join('\n')}`.toLowerCase();
    let text = this.haystacks.get(item);
    if (text === undefined) {
      text = `${item.id}\n${item.captions.join('\n')}`.toLowerCase();
      this.haystacks.set(item, text);
    }
    return text;
  }
}

export const datasetEditor = new DatasetEditor();
