/**
 * Validation on a backend without synchronous reads (webgpu in Node): the teacher-forced validation loss, read back
 * asynchronously. Greedy captions (and so BLEU-4, CIDEr-D and sample captions) need the synchronous decoder and are
 * left out: the best epoch is then chosen by the validation loss.
 */
import { deviceEvaluateLoss } from './decoder-train-device.ts';
import type { CaptionBatch, DecoderConfig, DecoderWeights } from './model-types.ts';

export interface LossOnlyValidation {
  readonly loss: number;
  readonly bleu4: null;
  readonly ciderD: null;
  readonly samples: [];
}

/** The mean validation loss over `count` examples in batches of `batchSize` (`batchOf(start, end)` makes one). */
export async function deviceValidation(
  weights: DecoderWeights,
  cfg: DecoderConfig,
  count: number,
  batchSize: number,
  batchOf: (start: number, end: number) => CaptionBatch,
): Promise<LossOnlyValidation | null> {
  if (count === 0) return null;
  let lossSum = 0;
  let tokens = 0;
  for (let s = 0; s < count; s += batchSize) {
    const batch = batchOf(s, Math.min(count, s + batchSize));
    try {
      const r = await deviceEvaluateLoss(weights, cfg, batch);
      lossSum += r.loss * r.tokens;
      tokens += r.tokens;
    } finally {
      batch.features.dispose();
    }
  }
  return { loss: tokens > 0 ? lossSum / tokens : 0, bleu4: null, ciderD: null, samples: [] };
}
