/**
 * The export job: the shared `exportModelCaptions` use case (the CLI's `export`) with the job's options; images
 * that fail and rows the writer skips are listed, with the reason, in the result. Images are captioned on one
 * worker thread per core (wasm backend), stopped when the job ends.
 */
import { availableParallelism } from 'node:os';
import type { JobResult } from '../../contract/types.ts';
import { exportModelCaptions } from '../../pipeline/export-captions.ts';
import type { EngineCache } from '../engine-cache.ts';
import type { ExportJobParams } from '../job-types.ts';
import type { JobContext } from './job-context.ts';

/** Problem lines an export's result carries at most (the counts cover all). */
const MAX_PROBLEMS = 50;

export async function runExportJob(params: ExportJobParams, ctx: JobContext, engine: EngineCache): Promise<JobResult> {
  const problems: string[] = [];
  const report = await exportModelCaptions(
    {
      inputs: [params.source.path],
      asDataset: params.asDataset,
      ...(params.source.format ? { datasetFormat: params.source.format } : {}),
      ...(params.source.imagesDir ? { imagesDir: params.source.imagesDir } : {}),
      format: params.format,
      ...(params.format !== 'sidecar' ? { out: params.outPath } : {}),
      bom: params.bom,
      overwrite: params.overwrite,
      includeReferences: params.includeReferences,
      beamSize: params.beamSize,
      workers: params.workers ?? availableParallelism(),
      load: async () => {
        const model = await engine.model(params.modelDir);
        return { model, encoder: await engine.encoder(model.encoderId) };
      },
      signal: ctx.gate.signal,
    },
    {
      pausePoint: () => ctx.gate.checkpoint(),
      onProgress: (progress) => ctx.update({ type: 'progress', progress: { ...progress, task: 'export' } }),
      onImageFailed: (file, error) => problems.push(`${file}: ${error}`),
      onWarning: (message) => problems.push(message),
    },
  );
  problems.push(...report.skipped.map((s) => `${s.path}: ${s.reason}`));
  return {
    kind: 'export',
    outPath: params.format === 'sidecar' ? params.source.path : params.outPath,
    rows: report.rows,
    failed: report.failed,
    skipped: report.skipped.length,
    format: params.format,
    problems: problems.slice(0, MAX_PROBLEMS),
  };
}
