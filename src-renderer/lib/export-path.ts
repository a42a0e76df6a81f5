/**
 * Where an export goes unless the user says otherwise: beside the dataset, never inside it. A file written into a
 * dataset folder becomes one more caption source there (the next "Detect" could read the model's captions as
 * references), so `photos/` and `photos/captions.json` both suggest `photos-captions.csv` next to `photos/`.
 */
import { dirName } from './format.ts';

const SEP = /[\\/]+$/;

export function defaultExportPath(source: string, ext: string): string {
  const trimmed = source.trim().replace(SEP, '');
  if (!trimmed) return '';
  // A path with an extension names a dataset file: its folder is the dataset folder.
  const isFile = /\.\w+$/.test(trimmed.slice(Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\')) + 1));
  const folder = isFile ? dirName(trimmed) : trimmed;
  const i = Math.max(folder.lastIndexOf('/'), folder.lastIndexOf('\\'));
  const name = folder.slice(i + 1) || 'dataset';
  const parent = i > 0 ? folder.slice(0, i) : folder.slice(0, i + 1);
  const sep = folder.includes('\\') && !folder.includes('/') ? '\\' : '/';
  return `${parent.replace(SEP, '')}${sep}${name}-captions.${ext}`;
}
