/**
 * The end of an epoch's judgement: validation (loss on every validation caption, BLEU-4 and CIDEr-D of greedy
 * captions, a few sample captions) and whether the epoch is the best so far by the configured metric. On a backend
 * without synchronous reads (webgpu) the loss comes from the device pass (device-validation.ts) and the captions
 * from the asynchronous decoder: the same figures.
 */
import type { CaptionModel } from './caption-model.ts';
import { captionFeaturesAsync } from './captioner.ts';
import { evaluateLoss } from './decoder.ts';
import { evaluatePairs } from './metrics/evaluate.ts';
import type { TrainConfig } from './train-config.ts';
import type { BestRecord, EpochRecord } from './train-history.ts';
import { makeBatch, type Example } from './train-batches.ts';
import type { TrainData, SampleCaption } from './train.ts';
import type { Vocabulary } from './vocab.ts';

/** Validation figures of one epoch, or null without validation data. */
export interface Validation {
  readonly loss: number;
  /** Of greedy captions of up to `valMaxImages` images; null when none were captioned (valMaxImages 0). */
  readonly bleu4: number | null;
  readonly ciderD: number | null;
  readonly samples: SampleCaption[];
}

/** The validation loss (teacher-forced mean cross-entropy per token) over every validation caption. */
export function validationLoss(model: CaptionModel, data: TrainData, valExamples: readonly Example[], vocab: Vocabulary, config: TrainConfig): number {
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
  return tokens > 0 ? lossSum / tokens : 0;
}

/** Validation with the given loss: BLEU-4, CIDEr-D and sample captions of greedy captions of the validation images. */
export async function validate(model: CaptionModel, data: TrainData, loss: number, config: TrainConfig): Promise<Validation> {
  const images = data.val.filter((img) => img.captions.some((c) => c.length > 0)).slice(0, config.valMaxImages);
  let bleu4: number | null = null;
  let ciderD: number | null = null;
  const samples: SampleCaption[] = [];
  if (images.length > 0) {
    const captions = await captionFeaturesAsync(
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
  return { loss, bleu4, ciderD, samples };
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

/** The epoch's selection figure and whether it beats the best epoch so far. */
export function judgeEpoch(
  config: TrainConfig,
  trainLoss: number,
  val: Validation | null,
  best: BestRecord | null,
  history: readonly EpochRecord[],
): { metric: BestRecord['metric']; value: number; improved: boolean } {
  const { metric, value } = selection(config, trainLoss, val);
  return { metric, value, improved: isImprovement(metric, value, val?.loss ?? trainLoss, best, history) };
}
