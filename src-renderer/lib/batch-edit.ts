/**
 * Batch edits over a dataset's captions, as pure functions: find / replace (plain text or a regular expression),
 * a prefix or a suffix added to every caption, and deleting the captions that match a pattern. `planBatch` says
 * what would change (for the preview) and gives the new caption lists; the editor applies them as one undo step.
 */

export type BatchOp =
  | { readonly kind: 'replace'; readonly find: string; readonly replace: string; readonly regex: boolean; readonly caseSensitive: boolean }
  | { readonly kind: 'prefix'; readonly text: string }
  | { readonly kind: 'suffix'; readonly text: string }
  | { readonly kind: 'delete'; readonly find: string; readonly regex: boolean; readonly caseSensitive: boolean };

export interface BatchChange {
  readonly id: string;
  readonly before: readonly string[];
  readonly after: readonly string[];
}

export interface BatchPlan {
  readonly changes: readonly BatchChange[];
  /** Captions that change or go (a replaced caption counts once, however many matches it has). */
  readonly captionsChanged: number;
  readonly captionsDeleted: number;
}

/** `text` as a regular expression that matches it literally. */
export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The pattern of a replace/delete, or a one-line reason why it is not usable. */
export function compilePattern(find: string, regex: boolean, caseSensitive: boolean): RegExp | string {
  if (find === '') return 'type the text to find';
  const flags = caseSensitive ? 'gu' : 'giu';
  if (!regex) return new RegExp(escapeRegExp(find), flags);
  try {
    const pattern = new RegExp(find, flags);
    if (pattern.test('')) return 'that pattern also matches empty text; make it match at least one character';
    return pattern;
  } catch (err) {
    return `not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`;
  }
}

/** Collapses the spaces a replacement may leave (`a  b`, leading or trailing blanks). */
function tidy(caption: string): string {
  return caption.replace(/\s+/g, ' ').trim();
}

/** One caption after `op`: the new text, or null when the caption goes. Throws on an unusable pattern. */
function editCaption(caption: string, op: BatchOp, pattern: RegExp | null): string | null {
  switch (op.kind) {
    case 'prefix':
      return tidy(`${op.text} ${caption}`);
    case 'suffix':
      // `, high quality` attaches to the last word; other text follows a space.
      return tidy(`${caption}${/^[,.;:!?]/.test(op.text.trim()) ? '' : ' '}${op.text.trim()}`);
    case 'replace': {
      // A plain replacement is taken literally ($ means nothing there); a regex one may use $1 … for its groups.
      const next = tidy(op.regex ? caption.replace(pattern!, op.replace) : caption.replace(pattern!, () => op.replace));
      return next === '' ? null : next;
    }
    case 'delete':
      pattern!.lastIndex = 0;
      return pattern!.test(caption) ? null : caption;
  }
}

function patternOf(op: BatchOp): RegExp | null {
  if (op.kind !== 'replace' && op.kind !== 'delete') return null;
  const pattern = compilePattern(op.find, op.regex, op.caseSensitive);
  if (typeof pattern === 'string') throw new Error(pattern);
  return pattern;
}

/** The captions of one item after `op` (captions left empty are dropped). */
export function applyOp(captions: readonly string[], op: BatchOp): string[] {
  const pattern = patternOf(op);
  return captions.map((c) => editCaption(c, op, pattern)).filter((c): c is string => c !== null);
}

/** What `op` would do to `items` (only the items whose captions change are listed). */
export function planBatch(items: readonly { readonly id: string; readonly captions: readonly string[] }[], op: BatchOp): BatchPlan {
  const pattern = patternOf(op);
  const changes: BatchChange[] = [];
  let captionsChanged = 0;
  let captionsDeleted = 0;
  for (const item of items) {
    let changed = 0;
    let deleted = 0;
    const after: string[] = [];
    for (const caption of item.captions) {
      const next = editCaption(caption, op, pattern);
      if (next === null) deleted++;
      else {
        if (next !== caption) changed++;
        after.push(next);
      }
    }
    if (changed + deleted === 0) continue;
    changes.push({ id: item.id, before: item.captions, after });
    captionsChanged += changed;
    captionsDeleted += deleted;
  }
  return { changes, captionsChanged, captionsDeleted };
}

/** The undo-step key of a batch edit (each application is a step of its own). */
export function applyBatchKey(op: BatchOp): string {
  return `batch:${op.kind}:${Date.now()}`;
}
