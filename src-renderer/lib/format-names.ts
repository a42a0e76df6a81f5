/**
 * What the format menus show for each dataset and export format. Keyed by the contract's format types, so a format
 * the backend adds is a type error here until it has a label.
 */
import type { DatasetFormatName, ExportFormatName } from '../../src-main/contract/types.ts';

export const DATASET_FORMAT_LABELS: { readonly [F in DatasetFormatName | 'auto']: string } = {
  auto: 'Detect',
  sidecar: 'Folder / sidecar .txt',
  csv: 'CSV',
  coco: 'COCO',
  karpathy: 'Karpathy',
  flickr8k: 'Flickr8k',
};

export const EXPORT_FORMAT_LABELS: { readonly [F in ExportFormatName]: string } = {
  csv: 'CSV (spreadsheets)',
  jsonl: 'JSON Lines',
  sidecar: 'Caption .txt beside each image',
  'coco-results': 'COCO results JSON',
};

/** The entries of a label table, in its order, for a menu's options. */
export function optionsOf<K extends string>(labels: { readonly [F in K]: string }): { value: K; label: string }[] {
  return (Object.keys(labels) as K[]).map((value) => ({ value, label: labels[value] }));
}
