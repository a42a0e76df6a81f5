/** Native open/save dialogs for the contract's 'dialog.open' method, and the question before an export replaces a file. */
import { BrowserWindow, dialog, type OpenDialogOptions } from 'electron';
import type { ParsedRequestOf } from '../contract/schemas.ts';

type Purpose = ParsedRequestOf<'dialog.open'>['purpose'];

const IMAGE_FILTER = { name: 'Images', extensions: ['jpg', 'jpeg', 'png', 'webp', 'gif', 'tif', 'tiff', 'avif', 'heic', 'heif'] };
const DATASET_FILTER = { name: 'Datasets', extensions: ['csv', 'tsv', 'json', 'txt', 'token'] };

const OPEN: Record<Exclude<Purpose, 'save-csv'>, OpenDialogOptions> = {
  images: { title: 'Choose images to caption', properties: ['openFile', 'multiSelections'], filters: [IMAGE_FILTER] },
  folder: { title: 'Choose a folder', properties: ['openDirectory'] },
  dataset: { title: 'Open a dataset (a folder, or a CSV / JSON / token file)', properties: ['openFile', 'openDirectory'], filters: [DATASET_FILTER, { name: 'All files', extensions: ['*'] }] },
  model: { title: 'Choose a model folder (with model.json)', properties: ['openDirectory'] },
  'save-model': { title: 'Export the model into a folder', properties: ['openDirectory', 'createDirectory', 'promptToCreate'] },
};

/** Shows the dialog for `purpose` over the focused window; resolves to the chosen paths ([] when cancelled). */
export async function openDialog(purpose: Purpose): Promise<string[]> {
  const win = BrowserWindow.getAllWindows()[0];
  if (!win) return [];
  if (purpose === 'save-csv') {
    const result = await dialog.showSaveDialog(win, {
      title: 'Save captions as CSV',
      defaultPath: 'captions.csv',
      filters: [{ name: 'CSV', extensions: ['csv'] }],
      // Linux asks before replacing a file only when told to (macOS and Windows always do).
      properties: ['showOverwriteConfirmation', 'createDirectory'],
    });
    return result.canceled || !result.filePath ? [] : [result.filePath];
  }
  const result = await dialog.showOpenDialog(win, OPEN[purpose]);
  return result.canceled ? [] : result.filePaths;
}

/** Asks before an export replaces `file`, which the user did not choose in the save dialog; true to replace it. */
export async function confirmOverwrite(file: string): Promise<boolean> {
  const win = BrowserWindow.getAllWindows()[0];
  const options = {
    type: 'warning' as const,
    buttons: ['Replace', 'Cancel'],
    defaultId: 1,
    cancelId: 1,
    title: 'Replace file?',
    message: `${file} already exists.`,
    detail: 'The export would replace it with caption rows. Replace it?',
  };
  const { response } = win ? await dialog.showMessageBox(win, options) : await dialog.showMessageBox(options);
  return response === 0;
}
