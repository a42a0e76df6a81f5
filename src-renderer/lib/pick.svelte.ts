/**
 * Choosing a path on the machine the backend runs on: Electron's native dialog, or in browser mode the app's
 * own folder browser (a web page cannot see the backend's file system).
 */
import type { RequestOf } from '../../src-main/contract/schemas.ts';
import { api } from './api.ts';
import { app } from './app-state.svelte.ts';

export type PickPurpose = RequestOf<'dialog.open'>['purpose'];

/** What the browser-mode picker accepts for each purpose. */
export const PICK_MODES: Record<PickPurpose, { select: 'file' | 'folder' | 'any' | 'save'; title: string; multiple: boolean }> = {
  images: { select: 'file', title: 'Choose images', multiple: true },
  folder: { select: 'folder', title: 'Choose a folder', multiple: false },
  dataset: { select: 'any', title: 'Choose a dataset file or folder', multiple: false },
  model: { select: 'folder', title: 'Choose a model folder', multiple: false },
  'save-csv': { select: 'save', title: 'Save CSV as', multiple: false },
  'save-model': { select: 'folder', title: 'Export the model into a folder', multiple: false },
};

class PickerState {
  request = $state<{ purpose: PickPurpose; start: string | null; suggestedName: string; resolve: (paths: string[]) => void } | null>(null);
}

export const picker = new PickerState();

const LAST_FOLDER_KEY = 'caption-studio.picker.lastFolder';

/** The folder the browser-mode picker last chose in (where the next one starts), or null. */
export function lastPickedFolder(): string | null {
  try {
    return localStorage.getItem(LAST_FOLDER_KEY);
  } catch {
    return null;
  }
}

export function rememberPickedFolder(folder: string): void {
  try {
    localStorage.setItem(LAST_FOLDER_KEY, folder);
  } catch {
    // storage unavailable: the picker starts at home next time
  }
}

/** Asks the user for paths; resolves to [] when cancelled. */
export async function pickPaths(purpose: PickPurpose, options: { start?: string | null; suggestedName?: string } = {}): Promise<string[]> {
  if (api.mode === 'electron') {
    const result = await app.run(api.call('dialog.open', { purpose }));
    return result ? [...result.paths] : [];
  }
  return new Promise((resolve) => {
    picker.request = { purpose, start: options.start ?? null, suggestedName: options.suggestedName ?? 'captions.csv', resolve };
  });
}
