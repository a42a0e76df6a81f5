/** The trainer's examples and mini-batches: (image, caption) pairs, padded into a CaptionBatch. */
import * as tf from '@tensorflow/tfjs';
import type { CaptionBatch } from './model-types.ts';
import type { Vocabulary } from './vocab.ts';

/** One image's feature and tokenised captions (the trainer's `TrainImage`). */
export interface ImageWithCaptions {
  readonly features: Float32Array;
  readonly captions: readonly (readonly string[])[];
}

/** One (image, caption) pair. */
export interface Example {
  readonly image: number;
  readonly tokens: readonly string[];
}

export function examplesOf(images: readonly ImageWithCaptions[], maxLength: number): Example[] {
  const out: Example[] = [];
  images.forEach((img, image) => {
    for (const caption of img.captions) if (caption.length > 0) out.push({ image, tokens: caption.slice(0, maxLength) });
  });
  return out;
}

/** A CaptionBatch of the given examples, rows padded to the longest caption plus <start> and <end>. */
export function makeBatch(examples: readonly Example[], images: readonly ImageWithCaptions[], vocab: Vocabulary, F: number): CaptionBatch {
  const length = Math.max(...examples.map((e) => e.tokens.length)) + 2;
  const features = new Float32Array(examples.length * F);
  examples.forEach((e, r) => features.set(images[e.image]!.features, r * F));
  return {
    features: tf.tensor2d(features, [examples.length, F]),
    tokens: vocab.encodeCaptions(
      examples.map((e) => e.tokens),
      length,
    ),
    batchSize: examples.length,
    length,
  };
}
