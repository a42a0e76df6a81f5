/**
 * The validation loss on a backend without synchronous reads (webgpu in Node): the teacher-forced loss, read back
 * asynchronously (the greedy captions come from the asynchronous decoder, train-validation.ts).
 */
import { deviceEvaluateLoss } from './decoder-train-device.ts';
import type { CaptionBatch, DecoderConfig, DecoderWeights } from './model-types.ts';

/** The mean validation loss over `count` examples in batches of `batchSize` (`batchOf(start, end)` makes one). */
export async function deviceValidation(
  weights: DecoderWeights,
  cfg: DecoderConfig,
  count: number,
  batchSize: number,
  batchOf: (start: number, end: number) => CaptionBatch,
): Promise<number> {
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
  return tokens > 0 ? lossSum / tokens : 0;
}
