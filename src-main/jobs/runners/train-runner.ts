/**
 * The training job: read the dataset (any format), give it a seeded split when it has none, compute image
 * features (through the shared feature cache), then `engine/train` with the user's options — per-batch loss and ε, per-epoch metrics and sample
 * captions streamed to the UI — and install the best epoch's bundle as a new model. Pause blocks at the next
 * mini-batch; cancel makes the trainer write a checkpoint that `resume` continues from.
 */
import { cp, mkdir, rename, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { EpochReport, JobResult } from '../../contract/types.ts';
import { assignSplits, loadDataset, type DatasetFormat, type DatasetItem } from '../../data/dataset.ts';
import { BUNDLE_MODEL_FILE, BUNDLE_WEIGHTS_FILE } from '../../engine/bundle.ts';
import { disposeCaptionModel } from '../../engine/caption-model.ts';
import { defaultEncoderSpec, encoderId } from '../../engine/encoder.ts';
import { tokenize } from '../../engine/tokenize.ts';
import { train, type TrainImage } from '../../engine/train.ts';
import type { TrainConfigInput } from '../../engine/train-config.ts';
import type { EngineCache } from '../engine-cache.ts';
import type { TrainJobParams } from '../job-types.ts';
import { extractFeatures } from '../../data/feature-cache.ts';
import type { JobContext } from './job-context.ts';

export async function runTrainJob(params: TrainJobParams, ctx: JobContext, engine: EngineCache): Promise<JobResult> {
  ctx.update({ type: 'progress', progress: { task: 'train', phase: 'read dataset', done: 0, total: 0 } });
  const format = params.dataset.format && params.dataset.format !== 'auto' ? (params.dataset.format as DatasetFormat) : 'auto';
  let dataset = await loadDataset(params.dataset.path, {
    format,
    ...(params.dataset.imagesDir ? { imagesDir: params.dataset.imagesDir } : {}),
  });
  dataset = assignSplits(dataset, { seed: params.seed ?? 1, valFraction: params.valFraction ?? 0.1, testFraction: 0 });
  const captioned = dataset.items.filter((item) => item.captions.length > 0);
  if (captioned.length === 0) throw new Error(`${dataset.source}: no captioned images to train on`);

  const encoder = await engine.encoder(encoderId(defaultEncoderSpec()));
  const extracted = await extractFeatures(
    captioned.map((item) => item.imagePath),
    encoder,
    {
      cacheDir: params.cacheDir,
      checkpoint: () => ctx.gate.checkpoint(),
      onProgress: (p) => ctx.update({ type: 'progress', progress: { ...p, task: 'train', phase: 'extract features' } }),
    },
  );
  const features = extracted.map((r) => (r.ok ? r.features : null));
  const failures = extracted.filter((r) => !r.ok);
  const index = new Map(captioned.map((item, i) => [item, i]));
  const toImages = (items: DatasetItem[]): TrainImage[] =>
    items.flatMap((item) => {
      const f = features[index.get(item)!];
      return f ? [{ id: item.imagePath, features: f, captions: item.captions.map((c) => tokenize(c)) }] : [];
    });
  const trainItems = captioned.filter((item) => item.split !== 'val' && item.split !== 'test');
  const valItems = captioned.filter((item) => item.split === 'val');
  const data = { encoderId: encoder.id, featureDim: encoder.featureDim, train: toImages(trainItems), val: toImages(valItems) };

  const config: TrainConfigInput = {
    epochs: params.epochs,
    batchSize: params.batchSize,
    hiddenDim: params.hiddenDim,
    ...(params.embedDim ? { embedDim: params.embedDim } : {}),
    ...(params.learningRate ? { learningRate: { lr: params.learningRate } } : {}),
    ...(params.minCount ? { minWordCount: params.minCount } : {}),
    ...(params.patience ? { patience: params.patience } : {}),
    ...(params.seed !== undefined ? { seed: params.seed } : {}),
    schedule: params.schedule,
  };
  const result = await train({
    data,
    config,
    runDir: params.checkpointDir,
    workers: params.workers ?? availableParallelism(),
    resume: params.resume,
    overwrite: !params.resume,
    signal: ctx.gate.signal,
    name: params.name,
    provenance: {
      dataset: dataset.source,
      format: dataset.format,
      images: data.train.length + data.val.length,
      ...(failures.length ? { unreadableImages: failures.length } : {}),
    },
    onProgress: (progress) => {
      ctx.gate.poll();
      ctx.update({ type: 'progress', progress });
    },
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
  });
  disposeCaptionModel(result.model);

  // Install the best epoch's bundle as the new model (staged, then renamed into place).
  const staging = `${params.modelDir}.installing`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  for (const file of [BUNDLE_MODEL_FILE, BUNDLE_WEIGHTS_FILE]) await cp(path.join(result.bestDir, file), path.join(staging, file));
  await rm(params.modelDir, { recursive: true, force: true });
  await rename(staging, params.modelDir);
  // The figures of the epoch that was installed (the best one), not of the last one trained.
  const kept = result.history.find((h) => h.epoch === result.best?.epoch) ?? result.history.at(-1);
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
