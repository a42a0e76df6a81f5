/**
 * The "export captions" use case, the one both front ends run (the CLI's `export`, the app's export job): what to
 * caption (a dataset's images with their references and COCO ids, or image files and folders), the output checked
 * before any work, captions with the same decoding defaults, and the rows written by data/export in any format.
 */
import { stat } from 'node:fs/promises';
import { loadDataset } from '../data/dataset.ts';
import type { DatasetFormat, DatasetProblem } from '../data/dataset-types.ts';
import { checkExportOutput, exportCaptions, toCocoResults, type ExportFormat, type ExportReport, type ExportRow } from '../data/export.ts';
import { isImageName } from '../data/formats/common.ts';
import { expandImagePaths } from '../data/image-paths.ts';
import { modelLabel, type CaptionModel } from '../engine/caption-model.ts';
import type { ImageEncoder } from '../engine/encoder.ts';
import type { ProgressListener } from '../util/progress.ts';
import { inputsFingerprint, shareOf, type ShardSpec } from '../util/shard.ts';
import { writeShardManifest } from '../data/shard-manifest.ts';
import { captionImages } from './caption-images.ts';

/** How exports decode unless told otherwise (the same for every front end). */
export const EXPORT_DECODING = {
  /** Beam width. */
  beamSize: 3,
  /** No n-gram of this size may repeat within a caption (0 = off). */
  blockRepeatedNgram: 2,
} as const;

export interface ExportTarget {
  readonly path: string;
  readonly references?: readonly string[];
  /** The COCO image id, when the dataset is COCO (for coco-results). */
  readonly imageId?: string;
}

export interface ExportCaptionsOptions {
  /** A dataset file or folder, or image files and folders. */
  readonly inputs: readonly string[];
  /** Read a single input folder as a dataset (sidecar captions become references). */
  readonly asDataset?: boolean;
  /** The dataset format; naming one reads the input as a dataset. */
  readonly datasetFormat?: DatasetFormat | 'auto';
  readonly imagesDir?: string;
  readonly format: ExportFormat;
  /** The file to write (not for sidecar). */
  readonly out?: string;
  readonly bom?: boolean;
  readonly overwrite?: boolean;
  /** Put a dataset's reference captions beside each caption (default true). */
  readonly includeReferences?: boolean;
  readonly beamSize?: number;
  readonly blockRepeatedNgram?: number;
  /** Longest caption in words (default: the model's training limit). */
  readonly maxLength?: number;
  /**
   * Caption only share i of n of the inputs (by a stable hash of their relative paths, util/shard.ts); a file
   * output then gets a manifest beside it (`FILE.shard.json`) for `caption-studio merge`.
   */
  readonly shard?: ShardSpec;
  /** Threads that encode and caption (pipeline/caption-images.ts; default 1: all in this thread). */
  readonly workers?: number;
  /** Loads the model and its encoder once the inputs and the output have been checked. */
  readonly load: () => Promise<{ readonly model: CaptionModel; readonly encoder: ImageEncoder }>;
  readonly signal?: AbortSignal;
}

export interface ExportCaptionsEvents {
  readonly onDatasetProblems?: (problems: readonly DatasetProblem[]) => void;
  /** A folder that could not be read (one line). */
  readonly onUnreadable?: (message: string) => void;
  readonly onProgress?: ProgressListener;
  /** Between chunks of images (pause; may throw to cancel). */
  readonly pausePoint?: () => void;
  /** An image that could not be captioned. */
  readonly onImageFailed?: (path: string, error: string) => void;
  /** The run goes on differently than asked (caption threads that could not start; pipeline/caption-images.ts). */
  readonly onWarning?: (message: string) => void;
}

export interface ExportCaptionsResult extends ExportReport {
  /** Images that could not be captioned. */
  readonly failed: number;
  readonly images: number;
}

/** What to caption, and the dataset file read for it (an output must not overwrite it). */
export async function exportTargets(
  opts: Pick<ExportCaptionsOptions, 'inputs' | 'asDataset' | 'datasetFormat' | 'imagesDir'>,
  events: Pick<ExportCaptionsEvents, 'onDatasetProblems' | 'onUnreadable'> = {},
): Promise<{ targets: ExportTarget[]; datasetSource?: string }> {
  const named = opts.datasetFormat !== undefined && opts.datasetFormat !== 'auto';
  if (opts.inputs.length === 1) {
    const input = opts.inputs[0]!;
    const info = await stat(input).catch(() => undefined);
    if (info && (named || (info.isFile() && !isImageName(input)) || (info.isDirectory() && opts.asDataset))) {
      const dataset = await loadDataset(input, {
        ...(named ? { format: opts.datasetFormat as DatasetFormat } : {}),
        ...(opts.imagesDir ? { imagesDir: opts.imagesDir } : {}),
      });
      if (dataset.problems.length) events.onDatasetProblems?.(dataset.problems);
      const targets = dataset.items.map((item) => ({
        path: item.imagePath,
        references: item.captions,
        ...(dataset.format === 'coco' ? { imageId: item.id } : {}),
      }));
      return { targets, datasetSource: dataset.source };
    }
  }
  const paths = await expandImagePaths(opts.inputs, { ...(events.onUnreadable ? { onUnreadable: (_dir: string, message: string) => events.onUnreadable!(message) } : {}) });
  return { targets: paths.map((p) => ({ path: p })) };
}

/** Captions the inputs with the model and writes them; see the module comment. */
export async function exportModelCaptions(opts: ExportCaptionsOptions, events: ExportCaptionsEvents = {}): Promise<ExportCaptionsResult> {
  if (opts.format !== 'sidecar' && !opts.out) throw new Error(`an output file is needed for the ${opts.format} format`);
  const { targets: all, datasetSource } = await exportTargets(opts, events);
  if (opts.format !== 'sidecar') await checkExportOutput(opts.out!, datasetSource ? [...opts.inputs, datasetSource] : opts.inputs);
  if (all.length === 0) throw new Error(`no images found in ${opts.inputs.join(', ')}`);
  const { share, keys } = shareOf(all, (t) => t.path, opts.inputs, opts.shard);
  const targets = share.map((s) => s.item);
  /** Each row's index in the whole (unsharded) list, for the shard manifest. */
  const rowIndex: number[] = [];
  const { model, encoder } = await opts.load();
  const name = modelLabel(model);
  const withReferences = opts.includeReferences ?? true;
  const rows: ExportRow[] = [];
  let failed = 0;
  let i = 0;
  const results = captionImages(
    targets.map((t) => t.path),
    {
      model,
      encoder,
      tags: 0,
      ...(opts.workers !== undefined ? { workers: opts.workers } : {}),
      caption: {
        beamSize: opts.beamSize ?? EXPORT_DECODING.beamSize,
        blockRepeatedNgram: opts.blockRepeatedNgram ?? EXPORT_DECODING.blockRepeatedNgram,
        ...(opts.maxLength !== undefined ? { maxLength: opts.maxLength } : {}),
      },
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(events.pausePoint ? { checkpoint: events.pausePoint } : {}),
      ...(events.onProgress ? { onProgress: events.onProgress } : {}),
      ...(events.onWarning ? { onWarning: events.onWarning } : {}),
    },
  );
  for await (const r of results) {
    const target = targets[i++]!;
    if (r.ok) {
      rowIndex.push(share[i - 1]!.index);
      rows.push({
        path: r.path,
        caption: r.caption,
        score: Math.round(r.score * 1e4) / 1e4,
        model: name,
        ...(withReferences && target.references ? { references: target.references } : {}),
        ...(target.imageId !== undefined ? { imageId: target.imageId } : {}),
      });
    } else {
      failed++;
      events.onImageFailed?.(r.path, r.error);
    }
  }
  if (rows.length === 0 && targets.length > 0) throw new Error(`none of the ${targets.length} images could be captioned`);
  if (opts.format === 'coco-results' && toCocoResults(rows).results.length === 0) {
    throw new Error('nothing to export as coco-results: no image has a COCO image id (export a COCO dataset, or name files by their id)');
  }
  const report = await exportCaptions(rows, {
    format: opts.format,
    ...(opts.out && opts.format !== 'sidecar' ? { out: opts.out } : {}),
    ...(opts.bom ? { bom: true } : {}),
    ...(opts.overwrite ? { overwrite: true } : {}),
  });
  if (opts.shard && opts.format !== 'sidecar') {
    const manifest = { version: 1, shard: opts.shard, total: all.length, inputs: inputsFingerprint(keys), format: opts.format, bom: opts.bom ?? false } as const;
    await writeShardManifest(opts.out!, { ...manifest, rows: rows.map((row, k) => ({ index: rowIndex[k]!, row })) });
  }
  return { ...report, failed, images: targets.length };
}
