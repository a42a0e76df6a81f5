/**
 * A dataset's own captions in another format, no model involved: CSV (`image,caption[,split]`, one row per
 * caption), JSONL (one image per line with all its captions), caption files beside the images, or COCO captions
 * JSON. Image paths in CSV, JSONL and COCO are written relative to the output file's folder when the images lie
 * under it (so the result opens as a dataset where it is), absolute otherwise. Every format but JSONL reads back
 * into the same images and captions (`loadDataset`).
 */
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { Dataset } from './dataset-types.ts';
import { checkExportOutput, exportCaptions, type ExportRow } from './export.ts';

export const CONVERT_FORMATS = ['csv', 'jsonl', 'sidecar', 'coco'] as const;
export type ConvertFormat = (typeof CONVERT_FORMATS)[number];

export interface ConvertOptions {
  readonly to: ConvertFormat;
  /** The output file (csv, jsonl, coco); sidecar writes beside the images. */
  readonly out?: string;
  /** sidecar: replace existing caption files (default false: they are skipped and reported). */
  readonly overwrite?: boolean;
  /** csv: start with a UTF-8 byte-order mark (for Excel). */
  readonly bom?: boolean;
}

export interface ConvertReport {
  readonly format: ConvertFormat;
  readonly written: readonly string[];
  readonly images: number;
  readonly captions: number;
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}

/** `file` relative to `dir` when it lies under it (with forward slashes), else absolute. */
function relativeTo(dir: string, file: string): string {
  const rel = path.relative(dir, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel.split(path.sep).join('/') : file;
}

export async function convertDataset(dataset: Dataset, opts: ConvertOptions): Promise<ConvertReport> {
  const captioned = dataset.items.filter((item) => item.captions.length > 0);
  const captions = captioned.reduce((n, item) => n + item.captions.length, 0);
  if (opts.to === 'sidecar') {
    const rows: ExportRow[] = captioned.flatMap((item) => item.captions.map((caption) => ({ path: item.imagePath, caption })));
    const report = await exportCaptions(rows, { format: 'sidecar', overwrite: opts.overwrite ?? false });
    return { format: 'sidecar', written: report.written, images: report.written.length, captions: rows.length, skipped: report.skipped };
  }
  if (!opts.out) throw new Error(`convert: the ${opts.to} format needs an output file`);
  const out = path.resolve(opts.out);
  await checkExportOutput(out, [dataset.source]);
  const dir = path.dirname(out);
  const withSplit = captioned.some((item) => item.split !== undefined);
  let text: string;
  switch (opts.to) {
    case 'csv': {
      const records = captioned.flatMap((item) =>
        // Captions are written as they are (no formula guard as in model exports): this file is a dataset, and
        // a caption starting with '-' must read back unchanged.
        item.captions.map((caption) => [relativeTo(dir, item.imagePath), caption, ...(withSplit ? [item.split ?? ''] : [])]),
      );
      text = (opts.bom ? '\uFEFF' : '') + stringify([['image', 'caption', ...(withSplit ? ['split'] : [])], ...records], { record_delimiter: '\n' });
      break;
    }
    case 'jsonl':
      text = captioned.map((item) => JSON.stringify({ image: relativeTo(dir, item.imagePath), captions: item.captions, ...(item.split ? { split: item.split } : {}) })).join('\n') + '\n';
      break;
    case 'coco': {
      const images = captioned.map((item, i) => ({ id: i + 1, file_name: relativeTo(dir, item.imagePath), ...(item.split ? { split: item.split } : {}) }));
      let next = 0;
      const annotations = captioned.flatMap((item, i) => item.captions.map((caption) => ({ id: ++next, image_id: i + 1, caption })));
      text = `${JSON.stringify({ info: { description: `converted from ${path.basename(dataset.source)} (${dataset.format}) by Caption Studio` }, licenses: [], images, annotations })}\n`;
      break;
    }
  }
  await writeFileAtomic(out, text);
  return { format: opts.to, written: [out], images: captioned.length, captions, skipped: [] };
}
