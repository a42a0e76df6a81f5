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
import { captionFeatures } from './captioner.ts';
import { disposeCheckpointTensors, loadCheckpoint, saveCheckpoint, type CheckpointMeta, type TrainPosition } from './checkpoint.ts';
import { decoderWeightShapes, disposeDecoderWeights, evaluateLoss, initDecoderWeights, lossAndGradients } from './decoder.ts';
import { evaluatePairs } from './metrics/evaluate.ts';
import { DECODER_WEIGHT_NAMES, PAD, type CaptionBatch, type DecoderConfig, type DecoderWeights } from './model-types.ts';
import { Adam, clipByGlobalNorm } from './optimizer.ts';
import { epsilonAt, epsilonCurve, learningRateAt, type CurvePoint } from './schedules.ts';
import {
  configDifferences,
  resolveTrainConfig,
  type TrainConfig,
  type TrainConfigInput,
} from './train-config.ts';
import type { BatchRecord, BestRecord, EpochRecord } from './train-history.ts';
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

/** One (image, caption) pair. */
interface Example {
  readonly image: number;
  readonly tokens: readonly string[];
  /** False when the caption was cut at maxLength: its words are learned, but no <end> after them. */
  readonly ends: boolean;
}

/** The mutable state of a run, everything a checkpoint holds besides tensors. */
interface RunState {
  position: TrainPosition;
  history: EpochRecord[];
  batchLog: BatchRecord[];
  best: BestRecord | null;
  epochsWithoutImprovement: number;
}

/** Trains a caption decoder; see the module comment. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const { data, signal } = options;
  checkData(data);
  const paths = runPaths(options.runDir);
  await recoverRun(options.runDir);
  const fingerprint = dataFingerprint(data);

  let config: TrainConfig;
  let vocab: Vocabulary;
  let decoderConfig: DecoderConfig;
  let weights: DecoderWeights;
  let adam: Adam;
  let shuffleRng: Rng;
  let stepRng: Rng;
  let state: RunState;

  if (options.resume) {
    const ckpt = await loadCheckpoint(paths.latest);
    const m = ckpt.meta;
    try {
      if (m.encoderId !== data.encoderId) {
        throw new Error(`${paths.latest}: checkpoint was trained on features of encoder ${m.encoderId}, the data comes from ${data.encoderId}`);
      }
      if (m.dataFingerprint !== fingerprint) {
        throw new Error(`${paths.latest}: the training data differs from the checkpoint's (other images, captions or features)`);
      }
      const requested = resolveTrainConfig(mergeConfig(m.config, options.config ?? {}));
      const diffs = configDifferences(m.config, requested);
      if (diffs.length) throw new Error(`cannot resume ${paths.latest} with a different config: ${diffs.join('; ')}`);
      config = requested;
      vocab = Vocabulary.fromJSON(m.vocabulary, `${paths.latest}: vocabulary`);
      decoderConfig = m.decoderConfig;
      for (const name of DECODER_WEIGHT_NAMES) {
        const t = ckpt.tensors.weights[name];
        if (!t) throw new Error(`${paths.latest}: checkpoint has no weight ${name}`);
        const want = decoderWeightShapes(decoderConfig)[name];
        if (!tf.util.arraysEqual(t.shape, want)) {
          throw new Error(`${paths.latest}: weight ${name} has shape [${t.shape}], the decoder config needs [${want}]`);
        }
      }
      const restored = {} as Record<string, tf.Variable>;
      for (const name of DECODER_WEIGHT_NAMES) restored[name] = tf.variable(ckpt.tensors.weights[name]!, true);
      weights = restored as DecoderWeights;
      adam = new Adam(weights, config.adam);
      try {
        adam.load(ckpt.tensors.adam);
      } catch (err) {
        adam.dispose();
        disposeDecoderWeights(weights);
        throw new Error(`${paths.latest}: ${(err as Error).message}`);
      }
    } finally {
      disposeCheckpointTensors(ckpt.tensors);
    }
    shuffleRng = new Rng(m.rng.shuffle);
    stepRng = new Rng(m.rng.step);
    state = {
      position: m.position,
      history: [...m.history],
      batchLog: [...m.batchLog],
      best: m.best,
      epochsWithoutImprovement: m.epochsWithoutImprovement,
    };
  } else {
    if (!options.overwrite && (await pathExists(path.join(paths.latest, 'checkpoint.json')))) {
      throw new Error(`${options.runDir}: already holds a training run; resume it or pass overwrite to start afresh`);
    }
    config = resolveTrainConfig(options.config ?? {});
    vocab = Vocabulary.build(
      data.train.flatMap((img) => img.captions),
      { minCount: config.minWordCount },
    );
    decoderConfig = {
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
    weights = tf.tidy(() => initDecoderWeights(decoderConfig, initSeed));
    adam = new Adam(weights, config.adam);
    shuffleRng = new Rng(master.seed());
    stepRng = new Rng(master.seed());
    state = {
      position: { epoch: 0, batchInEpoch: 0, globalBatch: 0, epochLossSum: 0, epochTokens: 0, epochSeconds: 0 },
      history: [],
      batchLog: [],
      best: null,
      epochsWithoutImprovement: 0,
    };
  }

  const trainExamples = examplesOf(data.train, config.maxLength);
  const valExamples = examplesOf(data.val, config.maxLength);
  const batchesPerEpoch = Math.ceil(trainExamples.length / config.batchSize);
  const modelView: CaptionModel = {
    config: decoderConfig,
    vocab,
    weights,
    encoderId: data.encoderId,
    metadata: { name: options.name, createdAt: new Date().toISOString(), provenance: options.provenance },
  };
  const batchMeter = new RateMeter();
  const tokenMeter = new RateMeter();
  let tokensSeen = 0;
  const emit: ProgressListener = options.onProgress ?? (() => {});

  const checkpointMeta = (shuffleState: RngState, finished: boolean): CheckpointMeta => ({
    config,
    decoderConfig,
    vocabulary: vocab.toJSON(),
    encoderId: data.encoderId,
    dataFingerprint: fingerprint,
    position: state.position,
    rng: { shuffle: shuffleState, step: stepRng.state() },
    history: state.history,
    batchLog: state.batchLog,
    best: state.best,
    epochsWithoutImprovement: state.epochsWithoutImprovement,
    finished,
  });
  const writeCheckpoint = (shuffleState: RngState, finished = false): Promise<void> =>
    saveCheckpoint(paths.latest, checkpointMeta(shuffleState, finished), {
      weights,
      adam: adam.state(),
    });
  const summary = (stoppedBy: TrainingSummary['stoppedBy']): TrainingSummary => ({
    config,
    schedule: config.schedule,
    learningRate: config.learningRate,
    history: state.history,
    batchLog: state.batchLog,
    best: state.best,
    stoppedBy,
  });

  const earlyStopped = (): boolean => config.patience > 0 && state.epochsWithoutImprovement >= config.patience;
  try {
    while (state.position.epoch < config.epochs && !earlyStopped()) {
      const epoch = state.position.epoch;
      const epochShuffleState = shuffleRng.state();
      const order = shuffleRng.shuffle(Array.from(trainExamples.keys()));
      const lr = learningRateAt(config.learningRate, epoch);
      // ε of the epoch's last batch so far (overwritten by each batch below).
      let epsilon = epsilonAt(config.schedule, Math.max(0, state.position.globalBatch - 1));

      for (let b = state.position.batchInEpoch; b < batchesPerEpoch; b++) {
        if (signal) await new Promise<void>((resolve) => setImmediate(resolve)); // let an abort (Ctrl-C, a job's cancel) arrive
        if (signal?.aborted) {
          await writeCheckpoint(epochShuffleState);
          throw new CancelledError(`training cancelled at epoch ${epoch + 1}, batch ${b + 1}; resume continues there`);
        }
        const started = performance.now();
        const i = state.position.globalBatch;
        epsilon = epsilonAt(config.schedule, i);
        const picked = order.slice(b * config.batchSize, (b + 1) * config.batchSize).map((k) => trainExamples[k]!);
        const batch = makeBatch(picked, data.train, vocab, data.featureDim);
        let record: BatchRecord;
        try {
          const pass = lossAndGradients(weights, decoderConfig, batch, { epsilon, sampling: config.sampling, training: true, rng: stepRng });
          let clipped: ReturnType<typeof clipByGlobalNorm<string>>;
          try {
            clipped = clipByGlobalNorm(pass.grads, config.clipNorm);
          } finally {
            tf.dispose(Object.values(pass.grads));
          }
          if (!Number.isFinite(pass.loss) || !Number.isFinite(clipped.norm)) {
            tf.dispose(Object.values(clipped.grads));
            throw new Error(
              `train: diverged at batch ${i} (epoch ${epoch + 1}): loss ${pass.loss}, gradient norm ${clipped.norm}; lower the learning rate`,
            );
          }
          adam.apply(clipped.grads, lr);
          tf.dispose(Object.values(clipped.grads));
          record = {
            batch: i,
            epoch,
            loss: pass.loss,
            epsilon,
            teacherForced: pass.teacherForcedFraction,
            lr,
            gradNorm: clipped.norm,
            tokens: pass.tokens,
          };
        } finally {
          batch.features.dispose();
        }
        const p = state.position;
        state.position = {
          epoch,
          batchInEpoch: b + 1,
          globalBatch: i + 1,
          epochLossSum: p.epochLossSum + record.loss * record.tokens,
          epochTokens: p.epochTokens + record.tokens,
          epochSeconds: p.epochSeconds + (performance.now() - started) / 1000,
        };
        state.batchLog.push(record);
        options.onBatch?.(record);
        tokensSeen += record.tokens;
        const rate = batchMeter.update(i + 1);
        const tokenRate = tokenMeter.update(tokensSeen).rate;
        const total = batchesPerEpoch * config.epochs;
        emit({
          task: 'train',
          phase: `epoch ${epoch + 1}/${config.epochs}`,
          done: i + 1,
          total,
          rate: rate.rate,
          etaSeconds: rate.eta(total),
          values: { epoch: epoch + 1, loss: record.loss, epsilon, lr, tokensPerSec: tokenRate },
        });
      }

      // End of the epoch: validation, best model, history, checkpoint.
      emit({ task: 'train', phase: 'validate', done: state.position.globalBatch, total: batchesPerEpoch * config.epochs });
      const p = state.position;
      const trainLoss = p.epochTokens > 0 ? p.epochLossSum / p.epochTokens : 0;
      const val = validate(modelView, data, valExamples, vocab, config);
      const { metric, value } = selection(config, trainLoss, val);
      const improved = isImprovement(metric, value, val?.loss ?? trainLoss, state.best, state.history);
      const record: EpochRecord = {
        epoch: epoch + 1,
        trainLoss,
        valLoss: val?.loss ?? null,
        bleu4: val?.bleu4 ?? null,
        ciderD: val?.ciderD ?? null,
        lr,
        epsilon,
        batches: batchesPerEpoch,
        tokens: p.epochTokens,
        seconds: p.epochSeconds,
        improved,
      };
      state.history.push(record);
      if (improved) {
        state.best = { epoch: epoch + 1, metric, value };
        state.epochsWithoutImprovement = 0;
      } else {
        state.epochsWithoutImprovement += 1;
      }
      state.position = { epoch: epoch + 1, batchInEpoch: 0, globalBatch: p.globalBatch, epochLossSum: 0, epochTokens: 0, epochSeconds: 0 };
      if (improved) {
        const metrics: Record<string, number> = { trainLoss };
        if (val) {
          metrics.valLoss = val.loss;
          if (val.bleu4 !== null) metrics.bleu4 = val.bleu4;
          if (val.ciderD !== null) metrics.ciderD = val.ciderD;
        }
        await saveBundle(paths.best, {
          ...modelView,
          metadata: { ...modelView.metadata, createdAt: new Date().toISOString(), metrics, training: summary('in-progress') },
        });
      }
      const finished = state.position.epoch >= config.epochs || earlyStopped();
      await writeCheckpoint(shuffleRng.state(), finished);
      options.onEpoch?.({ ...record, epochs: config.epochs, best: state.best, samples: val?.samples ?? [] });
    }
  } finally {
    disposeDecoderWeights(weights);
    adam.dispose();
  }

  const stoppedBy = earlyStopped() && state.position.epoch < config.epochs ? 'early-stopping' : 'epochs';
  // The best bundle gets the whole run's history and how it ended.
  const model = await loadBundle(paths.best);
  const final = { ...model, metadata: { ...model.metadata, training: summary(stoppedBy) } };
  await saveBundle(paths.best, final);
  return {
    model: { ...final, source: paths.best },
    stoppedBy,
    history: state.history,
    batchLog: state.batchLog,
    best: state.best,
    config,
    bestDir: paths.best,
    latestDir: paths.latest,
  };
}

/** Validation figures of one epoch, or null without validation data. */
interface Validation {
  readonly loss: number;
  /** Of greedy captions of up to `valMaxImages` images; null when none were captioned (valMaxImages 0). */
  readonly bleu4: number | null;
  readonly ciderD: number | null;
  readonly samples: SampleCaption[];
}

function validate(
  model: CaptionModel,
  data: TrainData,
  valExamples: readonly Example[],
  vocab: Vocabulary,
  config: TrainConfig,
): Validation | null {
  if (valExamples.length === 0) return null;
  let lossSum = 0;
  let tokens = 0;
  for (let s = 0; s < valExamples.length; s += config.batchSize) {
    const batch = makeBatch(valExamples.slice(s, s + config.batchSize), data.val, vocab, data.featureDim);
    try {
      const r = evaluateLoss(model.weights, model.config, batch);
      lossSum += r.loss * r.tokens;
      tokens += r.tokens;
    } finally {
      batch.features.dispose();
    }
  }
  const images = data.val.filter((img) => img.captions.some((c) => c.length > 0)).slice(0, config.valMaxImages);
  let bleu4: number | null = null;
  let ciderD: number | null = null;
  const samples: SampleCaption[] = [];
  if (images.length > 0) {
    const captions = captionFeatures(
      model,
      images.map((img) => img.features),
      { encoderId: model.encoderId, method: 'greedy', maxLength: config.maxLength, blockRepeatedNgram: 0, chunkSize: 128 },
    );
    const scores = evaluatePairs(
      images.map((img, k) => ({ hyp: captions[k]!.words, refs: img.captions.filter((c) => c.length > 0) })),
    );
    bleu4 = scores.bleu4;
    ciderD = scores.ciderD;
    for (let k = 0; k < Math.min(config.sampleCaptions, images.length); k++) {
      const img = images[k]!;
      samples.push({
        id: img.id ?? String(data.val.indexOf(img)),
        caption: captions[k]!.caption,
        references: img.captions.filter((c) => c.length > 0).map((c) => c.join(' ')),
      });
    }
  }
  return { loss: tokens > 0 ? lossSum / tokens : 0, bleu4, ciderD, samples };
}

/**
 * Whether an epoch beats the best so far: a better selection metric, or the same value (small data often leaves
 * BLEU/CIDEr-D at 0 for many epochs) with a lower loss (validation, else training loss).
 */
function isImprovement(
  metric: BestRecord['metric'],
  value: number,
  loss: number,
  best: BestRecord | null,
  history: readonly EpochRecord[],
): boolean {
  if (best === null) return true;
  const higherIsBetter = metric === 'ciderD' || metric === 'bleu4';
  if (value !== best.value || metric !== best.metric) return higherIsBetter ? value > best.value : value < best.value;
  const before = history.find((h) => h.epoch === best.epoch);
  const bestLoss = before ? (before.valLoss ?? before.trainLoss) : Number.POSITIVE_INFINITY;
  return loss < bestLoss;
}

function selection(config: TrainConfig, trainLoss: number, val: Validation | null): { metric: BestRecord['metric']; value: number } {
  if (!val) return { metric: 'trainLoss', value: trainLoss };
  const metric = config.selectBy;
  const value = metric === 'valLoss' ? val.loss : val[metric];
  // No captions were scored (valMaxImages 0): the validation loss still measures the model.
  return value === null ? { metric: 'valLoss', value: val.loss } : { metric, value };
}

/**
 * Every (image, caption) pair. A caption longer than maxLength keeps its first maxLength words but not an <end>
 * after them: an <end> there would teach the model to stop mid-sentence ("… in front of a").
 */
function examplesOf(images: readonly TrainImage[], maxLength: number): Example[] {
  const out: Example[] = [];
  images.forEach((img, image) => {
    for (const caption of img.captions) {
      if (caption.length > 0) out.push({ image, tokens: caption.slice(0, maxLength), ends: caption.length <= maxLength });
    }
  });
  return out;
}

/** A CaptionBatch of the given examples, rows padded to the longest caption plus <start> and <end>. */
function makeBatch(examples: readonly Example[], images: readonly TrainImage[], vocab: Vocabulary, F: number): CaptionBatch {
  const length = Math.max(...examples.map((e) => e.tokens.length)) + 2;
  const features = new Float32Array(examples.length * F);
  examples.forEach((e, r) => features.set(images[e.image]!.features, r * F));
  const tokens = vocab.encodeCaptions(
    examples.map((e) => e.tokens),
    length,
  );
  // A cut caption's row ends without <end>: padding there stops its loss after the last kept word.
  examples.forEach((e, r) => {
    if (!e.ends) tokens[r * length + e.tokens.length + 1] = PAD;
  });
  return {
    features: tf.tensor2d(features, [examples.length, F]),
    tokens,
    batchSize: examples.length,
    length,
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

