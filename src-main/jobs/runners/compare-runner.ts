/**
 * The schedule-study job: the shared `compareSchedules` use case (the CLI's `compare`) with the job's options, its
 * progress and every run's validation CIDEr-D per epoch streamed to the UI, and the best run's model installed in
 * the model list. Pause blocks at the next image or mini-batch; cancel makes the current run write a checkpoint, and
 * starting the same study again resumes it (finished runs are kept).
 */
import { availableParallelism } from 'node:os';
import type { StudyResult } from '../../contract/types.ts';
import { currentBackend } from '../../engine/backend.ts';
import { copyBundle } from '../../engine/bundle.ts';
import { defaultEncoderSpec, encoderId } from '../../engine/encoder.ts';
import { compareSchedules, type RunRef } from '../../pipeline/compare-study.ts';
import type { EngineCache } from '../engine-cache.ts';
import type { CompareJobParams } from '../job-types.ts';
import type { JobContext } from './job-context.ts';

export async function runCompareJob(params: CompareJobParams, ctx: JobContext, engine: EngineCache): Promise<StudyResult> {
  ctx.update({ type: 'progress', progress: { task: 'train', phase: 'read dataset', done: 0, total: 0 } });
  const encoder = await engine.encoder(encoderId(defaultEncoderSpec()));
  const point = (run: RunRef, epoch: number, ciderD: number | null): void =>
    ctx.update({ type: 'study', point: { run: run.id, schedule: run.schedule, seed: run.seed, epoch, ciderD } });
  const result = await compareSchedules(
    {
      dataset: params.dataset,
      schedules: params.schedules,
      seeds: params.seeds,
      config: params.config,
      split: params.split,
      outDir: params.studyDir,
      encoder,
      cacheDir: params.cacheDir,
      workers: params.workers ?? availableParallelism(),
      signal: ctx.gate.signal,
      name: params.name,
      backend: currentBackend()?.backend ?? 'unknown',
    },
    {
      // Blocks while paused; a cancel aborts the signal, so the current run stops at the next mini-batch with a checkpoint.
      pausePoint: () => {
        ctx.gate.poll();
      },
      onProgress: (progress) => ctx.update({ type: 'progress', progress: progress.task === 'train' ? progress : { ...progress, task: 'train', phase: 'extract features' } }),
      onEpoch: (run, e) => point(run, e.epoch, e.ciderD),
      // What an earlier job did is charted too: the epochs of runs it finished, and of the run it left a checkpoint of.
      onRunStart: (run) => {
        for (const e of run.epochsBefore) point(run, e.epoch, e.valCiderD);
      },
      onRunDone: (run, res, skipped) => {
        if (skipped) for (const e of res.epochs) point(run, e.epoch, e.valCiderD);
      },
    },
  );
  // The kept model goes where the model list finds it.
  await copyBundle(result.best.modelDir, params.modelDir);
  return {
    kind: 'compare',
    modelId: params.modelId,
    rows: result.rows,
    best: { id: result.best.id, schedule: result.best.schedule, seed: result.best.seed, valCiderD: result.best.valCiderD },
    testImages: result.testImages,
    split: result.split,
    dir: result.outDir,
    files: result.files,
    trained: result.trained,
  };
}
