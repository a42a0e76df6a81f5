/**
 * Every keyboard shortcut of the app, in one list: the `?` overlay shows it, and the handlers in App.svelte and
 * the views implement it. Modifiers are named the platform's way (⌘ and ⌥ on macOS, Ctrl and Alt elsewhere).
 */

export interface Shortcut {
  /** Keys pressed together, e.g. [MOD, 'S']. */
  readonly keys: readonly string[];
  readonly what: string;
}

export interface ShortcutGroup {
  readonly title: string;
  readonly shortcuts: readonly Shortcut[];
}

const isMac = typeof navigator !== 'undefined' && /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent);
/** The command modifier: ⌘ on macOS, Ctrl elsewhere. */
export const MOD = isMac ? '⌘' : 'Ctrl';
export const ALT = isMac ? '⌥' : 'Alt';

/** True for the platform's command modifier (⌘ on macOS, Ctrl elsewhere). */
export function hasMod(e: KeyboardEvent): boolean {
  return isMac ? e.metaKey : e.ctrlKey;
}

/** True when the key goes into a text field (shortcuts made of plain keys stay out of the way then). */
export function isTyping(e: KeyboardEvent): boolean {
  const t = e.target;
  return t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement || (t instanceof HTMLElement && t.isContentEditable);
}

export const SHORTCUTS: readonly ShortcutGroup[] = [
  {
    title: 'Anywhere',
    shortcuts: [
      { keys: [ALT, '1 … 6'], what: 'Caption, Datasets, Train, Export, Models, Settings' },
      { keys: ['?'], what: 'This list of shortcuts' },
      { keys: [MOD, 'V'], what: 'Paste an image to caption it' },
      { keys: ['Esc'], what: 'Close a dialog or the image viewer' },
    ],
  },
  {
    title: 'Caption',
    shortcuts: [{ keys: [MOD, 'O'], what: 'Choose images to caption' }],
  },
  {
    title: 'Datasets',
    shortcuts: [
      { keys: ['/'], what: 'Search captions and file names' },
      { keys: ['←', '↑', '→', '↓'], what: 'Move through the grid' },
      { keys: ['Enter'], what: 'Edit the selected image’s first caption' },
      { keys: ['Esc'], what: 'Leave the caption, back to the grid' },
      { keys: [ALT, '↓'], what: 'Next image (also while editing)' },
      { keys: [ALT, '↑'], what: 'Previous image (also while editing)' },
      { keys: ['Space'], what: 'Look closely: the image full size' },
      { keys: [MOD, 'Z'], what: 'Undo' },
      { keys: [MOD, isMac ? '⇧Z' : 'Y'], what: 'Redo' },
      { keys: [MOD, 'S'], what: 'Save to the dataset’s files' },
      { keys: ['M'], what: 'Caption with a model (then Enter)' },
      { keys: ['A'], what: 'Accept the selected image’s machine captions' },
      { keys: ['⇧', 'A'], what: 'Accept every machine caption' },
      { keys: ['B'], what: 'Batch edits (find and replace, …)' },
    ],
  },
  {
    title: 'Image viewer',
    shortcuts: [
      { keys: ['+', '−'], what: 'Zoom in, out (or the mouse wheel)' },
      { keys: ['0'], what: 'Fit the image' },
      { keys: ['←', '→'], what: 'Previous, next image (pan when zoomed)' },
      { keys: ['PageUp', 'PageDown'], what: 'Previous, next image' },
    ],
  },
];
