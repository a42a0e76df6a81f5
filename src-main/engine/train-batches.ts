/** The trainer's examples and mini-batches: (image, caption) pairs, padded into a CaptionBatch. */
import * as tf from '@tensorflow/tfjs';
import { PAD, type CaptionBatch } from './model-types.ts';
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
  /** False when the caption was cut at maxLength: its words are learned, but no <end> after them. */
  readonly ends: boolean;
}

/**
 * Every (image, caption) pair. A caption longer than maxLength keeps its first maxLength words but not an <end>
 * after them: an <end> there would teach the model to stop mid-sentence ("… in front of a").
 */
export function examplesOf(images: readonly ImageWithCaptions[], maxLength: number): Example[] {
  const out: Example[] = [];
  images.forEach((img, image) => {
    for (const caption of img.captions) {
      if (caption.length > 0) out.push({ image, tokens: caption.slice(0, maxLength), ends: caption.length <= maxLength });
    }
  });
  return out;
}

/** A CaptionBatch of the given examples, rows padded to the longest caption plus <start> and <end>. */
export function makeBatch(examples: readonly Example[], images: readonly ImageWithCaptions[], vocab: Vocabulary, F: number): CaptionBatch {
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
