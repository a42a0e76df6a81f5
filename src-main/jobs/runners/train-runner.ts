/**
 * The training job: the shared `trainModel` use case with the job's options, its progress, per-batch loss and ε
 * and per-epoch figures with sample captions streamed to the UI. Pause blocks at the next image or mini-batch;
 * cancel makes the trainer write a checkpoint that `resume` continues from.
 */
import { availableParallelism } from 'node:os';
import type { EpochReport, JobResult } from '../../contract/types.ts';
import { currentBackend } from '../../engine/backend.ts';
import { defaultEncoderSpec, encoderId } from '../../engine/encoder.ts';
import { trainModel } from '../../pipeline/train-model.ts';
import { computeUnitMeanings } from '../../pipeline/unit-meanings.ts';
import type { EngineCache } from '../engine-cache.ts';
import type { TrainJobParams } from '../job-types.ts';
import type { JobContext } from './job-context.ts';

export async function runTrainJob(params: TrainJobParams, ctx: JobContext, engine: EngineCache): Promise<JobResult> {
  ctx.update({ type: 'progress', progress: { task: 'train', phase: 'read dataset', done: 0, total: 0 } });
  const encoder = await engine.encoder(encoderId(defaultEncoderSpec()));
  const result = await trainModel(
    {
      dataset: params.dataset,
      config: params.config,
      split: params.split,
      runDir: params.checkpointDir,
      workers: params.workers ?? availableParallelism(),
      resume: params.resume,
      overwrite: !params.resume,
      modelDir: params.modelDir,
      name: params.name,
      encoder,
      cacheDir: params.cacheDir,
      signal: ctx.gate.signal,
    },
    {
      // Blocks while paused; a cancel aborts the signal, so the trainer stops at the next mini-batch and writes a
      // checkpoint of that exact position (throwing here instead would lose the epoch's batches since the last one).
      pausePoint: () => {
        ctx.gate.poll();
      },
      onProgress: (progress) => ctx.update({ type: 'progress', progress: progress.task === 'train' ? progress : { ...progress, task: 'train', phase: 'extract features' } }),
      onBatch: (record) => ctx.update({ type: 'batch', batch: record.batch, loss: record.loss, epsilon: record.epsilon }),
      onEpoch: (event) => {
        const report: EpochReport = {
          epoch: event.epoch,
          epochs: event.epochs,
          trainLoss: event.trainLoss,
          valLoss: event.valLoss,
          bleu4: event.bleu4,
          ciderD: event.ciderD,
          epsilon: event.epsilon,
          learningRate: event.lr,
          samples: event.samples.map((s) => ({ imagePath: s.id, caption: s.caption, references: s.references })),
        };
        ctx.update({ type: 'epoch', epoch: report });
      },
    },
    currentBackend()?.backend ?? 'unknown',
  );
  // Unit meanings over the training data's captions, for the Caption view's explain panel (features are cached by
  // now); a failure here costs the panel its unit words, not the trained model.
  ctx.update({ type: 'progress', progress: { task: 'train', phase: 'unit meanings', done: 0, total: 0 } });
  await computeUnitMeanings({ modelDir: params.modelDir, dataset: params.dataset, cacheDir: params.cacheDir, load: async () => ({ model: await engine.model(params.modelDir), encoder }) }).catch(() => {});
  const kept = result.kept;
  const metrics: Record<string, number> = {};
  if (kept) {
    metrics.trainLoss = kept.trainLoss;
    if (kept.valLoss !== null) metrics.valLoss = kept.valLoss;
    if (kept.bleu4 !== null) metrics.bleu4 = kept.bleu4;
    if (kept.ciderD !== null) metrics.ciderD = kept.ciderD;
  }
  return {
    kind: 'train',
    modelId: params.modelId,
    metrics,
    bestEpoch: kept?.epoch ?? null,
    epochsRun: result.history.at(-1)?.epoch ?? 0,
    stoppedBy: result.stoppedBy,
  };
}
