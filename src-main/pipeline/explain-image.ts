/**
 * The "explain a caption" use case on an image file: decode (data/images) → the encoder's last convolutional
 * map → the caption (given, or the model's best beam caption) → per-word explanation (engine/explain), with each
 * top unit's meaning attached when the model folder holds unit meanings. Shared by the CLI and the app.
 */
import * as tf from '@tensorflow/tfjs';
import { loadImage } from '../data/images.ts';
import type { CaptionModel } from '../engine/caption-model.ts';
import { captionFeatures, type CaptionOptions } from '../engine/captioner.ts';
import type { ImageEncoder } from '../engine/encoder.ts';
import { explainFromMap, type CaptionExplanation, type UnitActivation, type WordExplanation } from '../engine/explain.ts';
import type { UnitMeanings, UnitWord } from '../engine/explain-units.ts';
import { tokenize } from '../text/tokenize.ts';

/** Words shown per unit beside an explanation. */
export const UNIT_WORDS_SHOWN = 5;

export interface ExplainedUnit extends UnitActivation {
  /** The words this unit fires for most (from the model's unit meanings), when they have been computed. */
  readonly words?: readonly UnitWord[];
}

export interface ExplainedWord extends Omit<WordExplanation, 'topUnits'> {
  readonly topUnits: readonly ExplainedUnit[];
}

export interface ImageExplanation extends Omit<CaptionExplanation, 'words'> {
  readonly path: string;
  readonly words: readonly ExplainedWord[];
}

export interface ExplainImageOptions {
  readonly model: CaptionModel;
  readonly encoder: ImageEncoder;
  /** The caption to explain, as text (tokenised like training captions) or words; default: the model's best caption. */
  readonly caption?: string | readonly string[];
  /** Decoding settings for the model's own caption. */
  readonly decode?: Omit<CaptionOptions, 'encoderId' | 'topN'>;
  /** The model's unit meanings (see explain-units.ts), or null. */
  readonly units?: UnitMeanings | null;
}

/** Explains a caption of the image file at `path`. Leaves no tensors behind; image errors name the file. */
export async function explainImage(path: string, opts: ExplainImageOptions): Promise<ImageExplanation> {
  const image = await loadImage(path);
  const { encoder, model } = opts;
  const size = encoder.inputSize;
  const map = tf.tidy(() => encoder.featureMap(tf.tensor4d(image.pixels, [1, size, size, 3], 'int32')));
  try {
    let words = opts.caption === undefined ? null : typeof opts.caption === 'string' ? tokenize(opts.caption) : [...opts.caption];
    if (!words) {
      const pooled = tf.tidy(() => tf.mean(map, [1, 2]) as tf.Tensor2D);
      try {
        words = [...captionFeatures(model, pooled, { ...opts.decode, encoderId: encoder.id })[0]!.words];
      } finally {
        pooled.dispose();
      }
    }
    if (words.length === 0) throw new Error(`${path}: there is no caption to explain (the model wrote no words)`);
    const explained = explainFromMap(model, encoder.id, map, words);
    const meanings = opts.units ?? null;
    return {
      ...explained,
      path,
      words: explained.words.map((w) => ({
        ...w,
        topUnits: w.topUnits.map((u) => {
          const meaning = meanings?.units[u.unit];
          return meaning ? { ...u, words: meaning.words.slice(0, UNIT_WORDS_SHOWN) } : u;
        }),
      })),
    };
  } finally {
    map.dispose();
  }
}
