/**
 * The training loop: mini-batches of (image feature, caption) pairs through the decoder's scheduled-sampling
 * pass, global-norm clipping and Adam; per epoch a validation loss, BLEU-4 and CIDEr-D of greedy captions, the
 * best model kept as a bundle, early stopping with patience; a checkpoint every epoch and on cancel, from which
 * `resume` continues exactly (same weights as an uninterrupted run with the same seed).
 *
 * A run lives in one folder: `latest/` (the checkpoint resume reads) and `best/` (a model bundle of the best
 * epoch so far by `config.selectBy`).
 *
 * Randomness: one generator seeded with `config.seed` derives three: weight initialisation, shuffling (one
 * permutation per epoch, re-derived on resume from the generator's saved state at the epoch's start) and the
 * decoder pass (dropout masks, teacher-forcing coins, sampled words), whose state is saved after every batch.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { CancelledError, RateMeter, type ProgressListener } from '../util/progress.ts';
import { Rng, type RngState } from '../util/rng.ts';
import { restoreMovedAside } from '../util/atomic-dir.ts';
import { pathExists } from '../util/path-exists.ts';
import { loadBundle, saveBundle } from './bundle.ts';
import type { CaptionModel, JsonValue, TrainingSummary } from './caption-model.ts';
import { disposeCheckpointTensors, loadCheckpoint, saveCheckpoint, type CheckpointMeta, type TrainPosition } from './checkpoint.ts';
import { decoderWeightShapes, disposeDecoderWeights, initDecoderWeights } from './decoder.ts';
import { deviceValidation } from './device-validation.ts';
import { DECODER_WEIGHT_NAMES, type CaptionBatch, type DecoderConfig, type DecoderWeights } from './model-types.ts';
import { Adam } from './optimizer.ts';
import { optimisationStep } from './parallel/optimisation-step.ts';
import { startTrainPool, type TrainPool } from './parallel/train-pool.ts';
import { hasSyncReads } from './webgpu-backend.ts';
import { epsilonAt, epsilonCurve, learningRateAt, type CurvePoint } from './schedules.ts';
import { examplesOf, makeBatch, type Example } from './train-batches.ts';
import { configDifferences, resolveTrainConfig, type TrainConfig, type TrainConfigInput } from './train-config.ts';
import type { BatchRecord, BestRecord, EpochRecord } from './train-history.ts';
import { judgeEpoch, validate, validationLoss, type Validation } from './train-validation.ts';
import { Vocabulary } from './vocab.ts';

/** One image of the training data: its feature vector and its tokenised captions (each a training example). */
export interface TrainImage {
  /** Names the image in sample captions (default: its index in the split). */
  readonly id?: string;
  readonly features: Float32Array;
  /** Tokenised captions (e.g. `tokenize(text)`); empty ones are skipped. */
  readonly captions: readonly (readonly string[])[];
}

/** What the trainer learns from: already-extracted features (all from one encoder) and tokenised captions. */
export interface TrainData {
  /** The encoder the features come from; the model will refuse features of any other. */
  readonly encoderId: string;
  readonly featureDim: number;
  readonly train: readonly TrainImage[];
  /** May be empty: then there are no validation figures and the best epoch is the one with the lowest train loss. */
  readonly val: readonly TrainImage[];
}

/** A greedy caption of a validation image, shown beside the charts. */
export interface SampleCaption {
  readonly id: string;
  readonly caption: string;
  readonly references: readonly string[];
}

/** The epoch event the UI charts. */
export interface EpochEvent extends EpochRecord {
  /** Epochs planned. */
  readonly epochs: number;
  readonly best: BestRecord | null;
  readonly samples: readonly SampleCaption[];
}

export interface TrainOptions {
  readonly data: TrainData;
  /** Settings; defaults fill the rest. When resuming, the checkpoint's config fills the rest instead. */
  readonly config?: TrainConfigInput;
  /** The run's folder (holds `latest/` and `best/`). */
  readonly runDir: string;
  /** Continue the run in `runDir` from its latest checkpoint. */
  readonly resume?: boolean;
  /** Start afresh even though `runDir` already holds a run (its checkpoints get replaced). */
  readonly overwrite?: boolean;
  /** Stops training between mini-batches; a checkpoint of the exact position is written, then CancelledError. */
  readonly signal?: AbortSignal;
  /** Progress after every mini-batch (values: loss, epsilon, lr, tokensPerSec, epoch) and during validation. */
  readonly onProgress?: ProgressListener;
  readonly onBatch?: (record: BatchRecord) => void;
  readonly onEpoch?: (event: EpochEvent) => void;
  /**
   * Data-parallel worker threads on the wasm backend (default 1: this thread). Any count trains the same weights up
   * to floating-point summation order (randomness is keyed per example), so a run may resume with another count.
   */
  readonly workers?: number;
  /** Model name and free-form provenance written into the best bundle. */
  readonly name?: string;
  readonly provenance?: { readonly [key: string]: JsonValue };
}

export interface TrainResult {
  /** The best epoch's model, loaded from `bestDir` (the caller disposes it). */
  readonly model: CaptionModel;
  readonly stoppedBy: 'epochs' | 'early-stopping';
  readonly history: readonly EpochRecord[];
  readonly batchLog: readonly BatchRecord[];
  readonly best: BestRecord | null;
  readonly config: TrainConfig;
  readonly bestDir: string;
  readonly latestDir: string;
}

/**
 * Puts back a run folder's checkpoint or best model that a kill between the two renames of their atomic
 * replacement left moved aside (see util/atomic-dir.ts). For whoever opens a run before training it.
 */
export async function recoverRun(runDir: string): Promise<void> {
  const paths = runPaths(runDir);
  for (const dir of [paths.latest, paths.best]) await restoreMovedAside(dir);
}

/** The checkpoint and best-model folders inside a run folder. */
export function runPaths(runDir: string): { latest: string; best: string } {
  return { latest: path.join(runDir, 'latest'), best: path.join(runDir, 'best') };
}

/** The size of a planned run and its ε curve (for the UI to show before training starts). */
export interface TrainingPlan {
  readonly examples: number;
  readonly batchesPerEpoch: number;
  readonly totalBatches: number;
  readonly epsilon: readonly CurvePoint[];
  readonly learningRate: readonly { readonly epoch: number; readonly lr: number }[];
}

/** Counts the training examples (non-empty captions) and plans the run's schedules. */
export function planTraining(train: readonly TrainImage[], config: TrainConfigInput = {}, maxPoints = 200): TrainingPlan {
  const c = resolveTrainConfig(config);
  let examples = 0;
  for (const img of train) for (const cap of img.captions) if (cap.length > 0) examples++;
  const batchesPerEpoch = Math.ceil(examples / c.batchSize);
  const totalBatches = batchesPerEpoch * c.epochs;
  return {
    examples,
    batchesPerEpoch,
    totalBatches,
    epsilon: epsilonCurve(c.schedule, totalBatches, maxPoints),
    learningRate: Array.from({ length: c.epochs }, (_, e) => ({ epoch: e, lr: learningRateAt(c.learningRate, e) })),
  };
}

/** The mutable state of a run, everything a checkpoint holds besides tensors. */
interface RunState {
  position: TrainPosition;
  history: EpochRecord[];
  batchLog: BatchRecord[];
  best: BestRecord | null;
  epochsWithoutImprovement: number;
}

/** A run in memory: its settings, vocabulary, weights, optimizer, generators and state. */
interface Run {
  readonly config: TrainConfig;
  readonly vocab: Vocabulary;
  readonly decoderConfig: DecoderConfig;
  readonly weights: DecoderWeights;
  readonly adam: Adam;
  /** One permutation per epoch; its state at an epoch's start is checkpointed, so resume re-derives the order. */
  readonly shuffleRng: Rng;
  /** Dropout masks, teacher-forcing coins and sampled words; its state is checkpointed after every batch. */
  readonly stepRng: Rng;
  state: RunState;
}

/** Trains a caption decoder; see the module comment. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { data, signal } = options;
  checkData(data);
  const paths = runPaths(options.runDir);
  await recoverRun(options.runDir);
  const fingerprint = dataFingerprint(data);
  const run = options.resume ? await restoreRun(options, paths.latest, fingerprint) : await initialiseRun(options, paths.latest);
  const { config, vocab, decoderConfig, weights } = run;

  const trainExamples = examplesOf(data.train, config.maxLength);
  const valExamples = examplesOf(data.val, config.maxLength);
  const batchesPerEpoch = Math.ceil(trainExamples.length / config.batchSize);
  const totalBatches = batchesPerEpoch * config.epochs;
  const modelView: CaptionModel = {
    config: decoderConfig,
    vocab,
    weights,
    encoderId: data.encoderId,
    metadata: { name: options.name, createdAt: new Date().toISOString(), provenance: options.provenance },
  };
  const emit: ProgressListener = options.onProgress ?? (() => {});
  const meter = { batches: new RateMeter(), tokens: new RateMeter(), tokensSeen: 0 };
  const writeCheckpoint = (shuffleState: RngState, finished = false): Promise<void> =>
    saveCheckpoint(paths.latest, checkpointMeta(run, data.encoderId, fingerprint, shuffleState, finished), { weights, adam: run.adam.state() });

  let pool: TrainPool | null = null;
  try {
    pool = await startTrainPool(options.workers ?? 1, { decoderConfig, adamConfig: config.adam, weights, adam: run.adam });
    while (run.state.position.epoch < config.epochs && !earlyStopped(run)) {
      const epoch = run.state.position.epoch;
      const epochShuffleState = run.shuffleRng.state();
      const order = run.shuffleRng.shuffle(Array.from(trainExamples.keys()));
      const lr = learningRateAt(config.learningRate, epoch);
      // ε of the epoch's last batch so far (overwritten by each batch below).
      let epsilon = epsilonAt(config.schedule, Math.max(0, run.state.position.globalBatch - 1));

      for (let b = run.state.position.batchInEpoch; b < batchesPerEpoch; b++) {
        if (signal) await new Promise<void>((resolve) => setImmediate(resolve)); // let an abort (Ctrl-C, a job's cancel) arrive
        if (signal?.aborted) {
          await pool?.syncInto(weights, run.adam);
          await writeCheckpoint(epochShuffleState);
          throw new CancelledError(`training cancelled at epoch ${epoch + 1}, batch ${b + 1}; resume continues there`);
        }
        const started = performance.now();
        const i = run.state.position.globalBatch;
        epsilon = epsilonAt(config.schedule, i);
        const picked = order.slice(b * config.batchSize, (b + 1) * config.batchSize).map((k) => trainExamples[k]!);
        const record = await trainStep(run, pool, makeBatch(picked, data.train, vocab, data.featureDim), { batch: i, epoch, epsilon, lr });
        advance(run.state, record, b, (performance.now() - started) / 1000);
        options.onBatch?.(record);
        meter.tokensSeen += record.tokens;
        const rate = meter.batches.update(i + 1);
        emit({
          task: 'train',
          phase: `epoch ${epoch + 1}/${config.epochs}`,
          done: i + 1,
          total: totalBatches,
          rate: rate.rate,
          etaSeconds: rate.eta(totalBatches),
          values: { epoch: epoch + 1, loss: record.loss, epsilon, lr, tokensPerSec: meter.tokens.update(meter.tokensSeen).rate },
        });
      }

      emit({ task: 'train', phase: 'validate', done: run.state.position.globalBatch, total: totalBatches });
      await pool?.syncInto(weights, run.adam);
      const { record, val } = await endOfEpoch(run, { modelView, data, valExamples, epoch, lr, epsilon, batchesPerEpoch });
      if (record.improved) await saveBest(paths.best, modelView, run, record.trainLoss, val);
      await writeCheckpoint(run.shuffleRng.state(), run.state.position.epoch >= config.epochs || earlyStopped(run));
      options.onEpoch?.({ ...record, epochs: config.epochs, best: run.state.best, samples: val?.samples ?? [] });
    }
  } finally {
    await pool?.close();
    disposeDecoderWeights(weights);
    run.adam.dispose();
  }

  const stoppedBy = earlyStopped(run) && run.state.position.epoch < config.epochs ? 'early-stopping' : 'epochs';
  // The best bundle gets the whole run's history and how it ended.
  const model = await loadBundle(paths.best);
  const final = { ...model, metadata: { ...model.metadata, training: summary(run, stoppedBy) } };
  await saveBundle(paths.best, final);
  return {
    model: { ...final, source: paths.best },
    stoppedBy,
    history: run.state.history,
    batchLog: run.state.batchLog,
    best: run.state.best,
    config,
    bestDir: paths.best,
    latestDir: paths.latest,
  };
}

/** Restore: the run in `latest` (checkpoint), checked against the data and the requested config. */
async function restoreRun(options: TrainOptions, latest: string, fingerprint: string): Promise<Run> {
  const { data } = options;
  const ckpt = await loadCheckpoint(latest);
  const m = ckpt.meta;
  try {
    if (m.encoderId !== data.encoderId) {
      throw new Error(`${latest}: checkpoint was trained on features of encoder ${m.encoderId}, the data comes from ${data.encoderId}`);
    }
    if (m.dataFingerprint !== fingerprint) {
      throw new Error(`${latest}: the training data differs from the checkpoint's (other images, captions or features)`);
    }
    const config = resolveTrainConfig(mergeConfig(m.config, options.config ?? {}));
    const diffs = configDifferences(m.config, config);
    if (diffs.length) throw new Error(`cannot resume ${latest} with a different config: ${diffs.join('; ')}`);
    const vocab = Vocabulary.fromJSON(m.vocabulary, `${latest}: vocabulary`);
    const decoderConfig = m.decoderConfig;
    for (const name of DECODER_WEIGHT_NAMES) {
      const t = ckpt.tensors.weights[name];
      if (!t) throw new Error(`${latest}: checkpoint has no weight ${name}`);
      const want = decoderWeightShapes(decoderConfig)[name];
      if (!tf.util.arraysEqual(t.shape, want)) {
        throw new Error(`${latest}: weight ${name} has shape [${t.shape}], the decoder config needs [${want}]`);
      }
    }
    const restored = {} as Record<string, tf.Variable>;
    for (const name of DECODER_WEIGHT_NAMES) restored[name] = tf.variable(ckpt.tensors.weights[name]!, true);
    const weights = restored as DecoderWeights;
    const adam = new Adam(weights, config.adam);
    try {
      adam.load(ckpt.tensors.adam);
    } catch (err) {
      adam.dispose();
      disposeDecoderWeights(weights);
      throw new Error(`${latest}: ${(err as Error).message}`);
    }
    return {
      config,
      vocab,
      decoderConfig,
      weights,
      adam,
      shuffleRng: new Rng(m.rng.shuffle),
      stepRng: new Rng(m.rng.step),
      state: {
        position: m.position,
        history: [...m.history],
        batchLog: [...m.batchLog],
        best: m.best,
        epochsWithoutImprovement: m.epochsWithoutImprovement,
      },
    };
  } finally {
    disposeCheckpointTensors(ckpt.tensors);
  }
}

/** Initialise: vocabulary from the training captions, seeded weights, a fresh optimizer and generators. */
async function initialiseRun(options: TrainOptions, latest: string): Promise<Run> {
  if (!options.overwrite && (await pathExists(path.join(latest, 'checkpoint.json')))) {
    throw new Error(`${options.runDir}: already holds a training run; resume it or pass overwrite to start afresh`);
  }
  const { data } = options;
  const config = resolveTrainConfig(options.config ?? {});
  const vocab = Vocabulary.build(
    data.train.flatMap((img) => img.captions),
    { minCount: config.minWordCount },
  );
  const decoderConfig: DecoderConfig = {
    vocabSize: vocab.size,
    embedDim: config.embedDim,
    hiddenDim: config.hiddenDim,
    featureDim: data.featureDim,
    injection: config.injection,
    dropout: config.dropout,
  };
  const master = new Rng(config.seed);
  const initSeed = master.seed();
  // tidy frees any temporary tensors of the initialisation; the variables survive it.
  const weights = tf.tidy(() => initDecoderWeights(decoderConfig, initSeed));
  return {
    config,
    vocab,
    decoderConfig,
    weights,
    adam: new Adam(weights, config.adam),
    shuffleRng: new Rng(master.seed()),
    stepRng: new Rng(master.seed()),
    state: {
      position: { epoch: 0, batchInEpoch: 0, globalBatch: 0, epochLossSum: 0, epochTokens: 0, epochSeconds: 0 },
      history: [],
      batchLog: [],
      best: null,
      epochsWithoutImprovement: 0,
    },
  };
}

/**
 * One optimisation step on a batch (which it disposes): the scheduled-sampling pass with its gradients (over the
 * worker pool when there is one), global-norm clipping, a divergence check and Adam's update
 * (parallel/optimisation-step.ts). The step generator gives the batch its seed; every row's randomness derives
 * from it, so any worker count trains the same weights.
 */
async function trainStep(run: Run, pool: TrainPool | null, batch: CaptionBatch, at: { batch: number; epoch: number; epsilon: number; lr: number }): Promise<BatchRecord> {
  const { config, weights, decoderConfig, adam } = run;
  try {
    const pass = await optimisationStep({ weights, adam, decoderConfig, pool }, batch, {
      batchSeed: run.stepRng.nextUint32(),
      epsilon: at.epsilon,
      sampling: config.sampling,
      lr: at.lr,
      clipNorm: config.clipNorm,
      where: `batch ${at.batch} (epoch ${at.epoch + 1})`,
    });
    return {
      batch: at.batch,
      epoch: at.epoch,
      loss: pass.loss,
      epsilon: at.epsilon,
      teacherForced: pass.teacherForcedFraction,
      lr: at.lr,
      gradNorm: pass.gradNorm,
      tokens: pass.tokens,
    };
  } finally {
    batch.features.dispose();
  }
}

/** Moves the run's position past batch `b` of its epoch, adding the batch's loss and time to the epoch's sums. */
function advance(state: RunState, record: BatchRecord, b: number, seconds: number): void {
  const p = state.position;
  state.position = {
    epoch: record.epoch,
    batchInEpoch: b + 1,
    globalBatch: record.batch + 1,
    epochLossSum: p.epochLossSum + record.loss * record.tokens,
    epochTokens: p.epochTokens + record.tokens,
    epochSeconds: p.epochSeconds + seconds,
  };
  state.batchLog.push(record);
}

/** End of an epoch: validation, the epoch's record, best-epoch bookkeeping, and the position of the next epoch. */
async function endOfEpoch(
  run: Run,
  at: { modelView: CaptionModel; data: TrainData; valExamples: readonly Example[]; epoch: number; lr: number; epsilon: number; batchesPerEpoch: number },
): Promise<{ record: EpochRecord; val: Validation | null }> {
  const { state, config } = run;
  const p = state.position;
  const trainLoss = p.epochTokens > 0 ? p.epochLossSum / p.epochTokens : 0;
  // Backends without synchronous reads (webgpu) take the loss from the device pass, read back asynchronously.
  let val: Validation | null = null;
  if (at.valExamples.length > 0) {
    const loss = hasSyncReads()
      ? validationLoss(at.modelView, at.data, at.valExamples, run.vocab, config)
      : await deviceValidation(run.weights, run.decoderConfig, at.valExamples.length, config.batchSize, (s, e) =>
          makeBatch(at.valExamples.slice(s, e), at.data.val, run.vocab, at.data.featureDim),
        );
    val = await validate(at.modelView, at.data, loss, config);
  }
  const { metric, value, improved } = judgeEpoch(config, trainLoss, val, state.best, state.history);
  const record: EpochRecord = {
    epoch: at.epoch + 1,
    trainLoss,
    valLoss: val?.loss ?? null,
    bleu4: val?.bleu4 ?? null,
    ciderD: val?.ciderD ?? null,
    lr: at.lr,
    epsilon: at.epsilon,
    batches: at.batchesPerEpoch,
    tokens: p.epochTokens,
    seconds: p.epochSeconds,
    improved,
  };
  state.history.push(record);
  if (improved) {
    state.best = { epoch: at.epoch + 1, metric, value };
    state.epochsWithoutImprovement = 0;
  } else {
    state.epochsWithoutImprovement += 1;
  }
  state.position = { epoch: at.epoch + 1, batchInEpoch: 0, globalBatch: p.globalBatch, epochLossSum: 0, epochTokens: 0, epochSeconds: 0 };
  return { record, val };
}

/** Writes the run's current weights as the best model bundle, with the epoch's figures. */
async function saveBest(dir: string, modelView: CaptionModel, run: Run, trainLoss: number, val: Validation | null): Promise<void> {
  const metrics: Record<string, number> = { trainLoss };
  if (val) {
    metrics.valLoss = val.loss;
    if (val.bleu4 !== null) metrics.bleu4 = val.bleu4;
    if (val.ciderD !== null) metrics.ciderD = val.ciderD;
  }
  await saveBundle(dir, {
    ...modelView,
    metadata: { ...modelView.metadata, createdAt: new Date().toISOString(), metrics, training: summary(run, 'in-progress') },
  });
}

function earlyStopped(run: Run): boolean {
  return run.config.patience > 0 && run.state.epochsWithoutImprovement >= run.config.patience;
}

function summary(run: Run, stoppedBy: TrainingSummary['stoppedBy']): TrainingSummary {
  const { config, state } = run;
  return {
    config,
    schedule: config.schedule,
    learningRate: config.learningRate,
    history: state.history,
    batchLog: state.batchLog,
    best: state.best,
    stoppedBy,
  };
}

function checkpointMeta(run: Run, encoderId: string, fingerprint: string, shuffleState: RngState, finished: boolean): CheckpointMeta {
  const { state } = run;
  return {
    config: run.config,
    decoderConfig: run.decoderConfig,
    vocabulary: run.vocab.toJSON(),
    encoderId,
    dataFingerprint: fingerprint,
    position: state.position,
    rng: { shuffle: shuffleState, step: run.stepRng.state() },
    history: state.history,
    batchLog: state.batchLog,
    best: state.best,
    epochsWithoutImprovement: state.epochsWithoutImprovement,
    finished,
  };
}

function checkData(data: TrainData): void {
  if (!data.encoderId) throw new Error('train: data.encoderId is empty');
  if (!(Number.isInteger(data.featureDim) && data.featureDim > 0)) {
    throw new Error(`train: data.featureDim must be a positive integer, got ${data.featureDim}`);
  }
  for (const split of ['train', 'val'] as const) {
    data[split].forEach((img, k) => {
      if (img.features.length !== data.featureDim) {
        throw new Error(`train: ${split}[${k}]${img.id ? ` (${img.id})` : ''} has ${img.features.length} feature values, expected ${data.featureDim}`);
      }
    });
  }
  // Checked before any weights exist, so that nothing is left allocated by this refusal.
  if (!data.train.some((img) => img.captions.some((c) => c.length > 0))) throw new Error('train: the training split has no non-empty captions');
}

/** A hash of everything the data contributes to training, so a resume on other data is refused. */
function dataFingerprint(data: TrainData): string {
  const h = createHash('sha256');
  h.update(`${data.encoderId}\u0000${data.featureDim}\u0000`);
  for (const split of [data.train, data.val]) {
    h.update(`split ${split.length}\u0000`);
    for (const img of split) {
      h.update(new Uint8Array(img.features.buffer, img.features.byteOffset, img.features.byteLength));
      for (const c of img.captions) h.update(`${c.join('\u0001')}\u0002`);
      h.update('\u0003');
    }
  }
  return h.digest('hex');
}

/** The checkpoint's config with the given fields on top (nested objects merged field by field). */
function mergeConfig(base: TrainConfig, over: TrainConfigInput): TrainConfigInput {
  return {
    ...base,
    ...over,
    learningRate: { ...base.learningRate, ...over.learningRate },
    adam: { ...base.adam, ...over.adam },
    schedule: over.schedule ?? base.schedule,
  };
}

