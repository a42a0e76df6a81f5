/**
 * `captions.write`: the captions the Caption view holds (the model's, or as the user edited them), written as a
 * CSV / JSONL file or as caption files beside their images. Uploaded copies live in a temporary folder, so caption
 * files are never written beside them (their captions go into a CSV or JSONL instead); an existing caption file is
 * replaced only when asked, since it may hold hand-written references.
 */
import path from 'node:path';
import type { ParsedRequestOf } from '../contract/schemas.ts';
import type { CaptionsWritten } from '../contract/types.ts';
import { checkExportOutput, exportCaptions, type ExportRow } from '../data/export.ts';
import { isInside } from './media-access.ts';

export async function writeCaptionResults(req: ParsedRequestOf<'captions.write'>, opts: { readonly uploadDir: string }): Promise<CaptionsWritten> {
  const rows: ExportRow[] = req.items.map((item) => ({
    path: path.resolve(item.path),
    caption: item.caption.replace(/\s+/g, ' ').trim(),
    ...(item.score !== undefined ? { score: item.score } : {}),
    ...(item.model !== undefined ? { model: item.model } : {}),
  }));
  if (req.format === 'sidecar') {
    const uploaded = rows.filter((r) => isInside(opts.uploadDir, r.path));
    const local = rows.filter((r) => !isInside(opts.uploadDir, r.path) && r.caption !== '');
    const empty = rows.filter((r) => !isInside(opts.uploadDir, r.path) && r.caption === '');
    const report = local.length ? await exportCaptions(local, { format: 'sidecar', overwrite: req.overwrite ?? false }) : { written: [], rows: 0, skipped: [] };
    return {
      format: 'sidecar',
      written: report.written,
      rows: report.rows,
      skipped: [
        ...uploaded.map((r) => ({ path: r.path, reason: 'an uploaded copy: no caption file beside it (save the captions as CSV or JSONL instead)' })),
        ...empty.map((r) => ({ path: r.path, reason: 'empty caption: no caption file written' })),
        ...report.skipped,
      ],
    };
  }
  const out = path.resolve(req.outPath!);
  await checkExportOutput(out, rows.map((r) => r.path));
  const report = await exportCaptions(rows, { format: req.format, out, bom: req.bom ?? false });
  return { format: req.format, written: report.written, rows: report.rows, skipped: report.skipped };
}
