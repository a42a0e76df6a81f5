/**
 * "Explain a caption" in the Caption view: explanations asked of the backend (`caption.explain`), kept per image,
 * caption and model so that clicking another word of the same caption asks nothing again, and which one the
 * explain dialog shows.
 */
import type { CaptionExplanationView } from '../../src-main/contract/types.ts';
import { api } from './api.ts';

export interface ExplainTarget {
  readonly path: string;
  readonly name: string;
  readonly caption: string;
  readonly modelId: string;
  /** The image to draw the heat map over (the card's preview or a thumbnail URL). */
  readonly src: string;
}

type Entry = { readonly state: 'loading' } | { readonly state: 'done'; readonly value: CaptionExplanationView } | { readonly state: 'failed'; readonly error: string };

/** Explanations kept (the oldest are dropped beyond this). */
const MAX_KEPT = 200;

function keyOf(t: Pick<ExplainTarget, 'path' | 'caption' | 'modelId'>): string {
  return `${t.modelId}\u0000${t.path}\u0000${t.caption.trim().toLowerCase()}`;
}

class ExplainState {
  private entries = $state<Record<string, Entry>>({});
  private order: string[] = [];
  /** What the dialog shows: the caption explained and the selected word (null: closed). */
  open = $state<{ target: ExplainTarget; index: number } | null>(null);

  /** The explanation of a caption, if asked for already (loading, done or failed). */
  entry(t: Pick<ExplainTarget, 'path' | 'caption' | 'modelId'>): Entry | null {
    return this.entries[keyOf(t)] ?? null;
  }

  /** Asks for the explanation unless it is known or on its way. */
  async load(t: ExplainTarget): Promise<void> {
    const key = keyOf(t);
    const known = this.entries[key];
    if (known && known.state !== 'failed') return;
    this.entries[key] = { state: 'loading' };
    this.order.push(key);
    while (this.order.length > MAX_KEPT) delete this.entries[this.order.shift()!];
    try {
      const value = await api.call('caption.explain', { path: t.path, caption: t.caption, modelId: t.modelId });
      this.entries[key] = { state: 'done', value };
    } catch (err) {
      this.entries[key] = { state: 'failed', error: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Opens the dialog on word `index` of a caption (and asks for its explanation). */
  show(target: ExplainTarget, index: number): void {
    this.open = { target, index };
    void this.load(target);
  }

  close(): void {
    this.open = null;
  }
}

export const explainState = new ExplainState();
