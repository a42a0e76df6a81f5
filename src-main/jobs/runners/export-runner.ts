/**
 * The export job, with the CLI export's behaviour: a dataset (its images, with their reference captions) or
 * files and folders of images, captioned by the shared pipeline and written by data/export in any of its formats
 * (csv with formula neutralisation and optional BOM, jsonl, sidecar without overwriting, coco-results), atomically.
 */
import { stat } from 'node:fs/promises';
import type { JobResult } from '../../contract/types.ts';
import { loadDataset, type DatasetFormat } from '../../data/dataset.ts';
import { checkExportOutput, exportCaptions, type ExportRow } from '../../data/export.ts';
import { isImageName } from '../../data/formats/common.ts';
import { expandImagePaths } from '../../data/image-paths.ts';
import { modelLabel } from '../../engine/caption-model.ts';
import { captionImages } from '../../pipeline/caption-images.ts';
import type { EngineCache } from '../engine-cache.ts';
import type { ExportJobParams } from '../job-types.ts';
import type { JobContext } from './job-context.ts';

interface Target {
  readonly path: string;
  readonly references?: readonly string[];
}

/**
 * A dataset's items (a non-image file, or a folder read as a dataset), else the image files under the path; with
 * the dataset file that was read (an output must not overwrite it).
 */
async function targetsOf(params: ExportJobParams): Promise<{ targets: Target[]; datasetSource?: string }> {
  const { path: input, format, imagesDir } = params.source;
  const info = await stat(input).catch(() => undefined);
  const named = format !== undefined && format !== 'auto';
  if (info && (named || (info.isFile() && !isImageName(input)) || (info.isDirectory() && params.asDataset))) {
    const dataset = await loadDataset(input, { ...(named ? { format: format as DatasetFormat } : {}), ...(imagesDir ? { imagesDir } : {}) });
    return { targets: dataset.items.map((item) => ({ path: item.imagePath, references: item.captions })), datasetSource: dataset.source };
  }
  return { targets: (await expandImagePaths([input])).map((p) => ({ path: p })) };
}

/** Problem lines an export's result carries at most (the counts cover all). */
const MAX_PROBLEMS = 50;

export async function runExportJob(params: ExportJobParams, ctx: JobContext, engine: EngineCache): Promise<JobResult> {
  const { targets, datasetSource } = await targetsOf(params);
  if (params.format !== 'sidecar') await checkExportOutput(params.outPath, datasetSource ? [params.source.path, datasetSource] : [params.source.path]);
  if (targets.length === 0) throw new Error(`no images found in ${params.source.path}`);
  const model = await engine.model(params.modelDir);
  const encoder = await engine.encoder(model.encoderId);
  const name = modelLabel(model);
  const rows: ExportRow[] = [];
  let failed = 0;
  const problems: string[] = [];
  let i = 0;
  const results = captionImages(
    targets.map((t) => t.path),
    {
      model,
      encoder,
      tags: 0,
      caption: { beamSize: params.beamSize, maxLength: params.maxLength },
      checkpoint: () => ctx.gate.checkpoint(),
      onProgress: (progress) => ctx.update({ type: 'progress', progress: { ...progress, task: 'export' } }),
    },
  );
  for await (const r of results) {
    const target = targets[i++]!;
    if (r.ok) {
      rows.push({ path: r.path, caption: r.caption, score: Math.round(r.score * 1e4) / 1e4, model: name, ...(params.includeReferences && target.references ? { references: target.references } : {}) });
    } else {
      failed++;
      problems.push(`${r.path}: ${r.error}`);
    }
  }
  if (rows.length === 0) throw new Error(`none of the ${targets.length} images could be captioned`);
  const report = await exportCaptions(rows, {
    format: params.format,
    ...(params.format !== 'sidecar' ? { out: params.outPath } : {}),
    ...(params.bom ? { bom: true } : {}),
    ...(params.overwrite ? { overwrite: true } : {}),
  });
  problems.push(...report.skipped.map((s) => `${s.path}: ${s.reason}`));
  return {
    kind: 'export',
    outPath: params.format === 'sidecar' ? params.source.path : params.outPath,
    rows: report.rows,
    failed,
    skipped: report.skipped.length,
    format: params.format,
    problems: problems.slice(0, MAX_PROBLEMS),
  };
}
