/**
 * Synthetic training data whose answer is known: six "classes" of images, each with its own random feature
 * centroid (images are the centroid plus a little noise) and its own two captions, so a decoder that learns the
 * data captions each validation image with its class's words.
 */
import type { TrainData, TrainImage } from '../../src-main/engine/train.ts';
import type { TrainConfigInput } from '../../src-main/engine/train-config.ts';
import { Rng } from '../../src-main/util/rng.ts';

export const SYNTH_ENCODER = 'synthetic-12d';
export const SYNTH_DIM = 12;

const CLASSES = [
  ['red', 'circle', 'white'],
  ['blue', 'square', 'black'],
  ['green', 'triangle', 'white'],
  ['yellow', 'circle', 'black'],
  ['red', 'square', 'grey'],
  ['blue', 'triangle', 'grey'],
] as const;

/** The two captions of class `k`, tokenised. */
export function classCaptions(k: number): string[][] {
  const [colour, shape, bg] = CLASSES[k]!;
  return [
    ['a', colour, shape, 'on', 'a', bg, 'background'],
    ['one', colour, shape, 'in', 'front', 'of', 'a', bg, 'wall'],
  ];
}

/** `perClass` training and `valPerClass` validation images per class; deterministic in `seed`. */
export function syntheticData(perClass = 8, valPerClass = 2, seed = 42): TrainData {
  const rng = new Rng(seed);
  const centroids = CLASSES.map(() => Float32Array.from({ length: SYNTH_DIM }, () => rng.next() * 2 - 1));
  const images = (count: number, split: string): TrainImage[] => {
    const out: TrainImage[] = [];
    for (let k = 0; k < CLASSES.length; k++) {
      for (let j = 0; j < count; j++) {
        const features = Float32Array.from(centroids[k]!, (c) => c + (rng.next() - 0.5) * 0.2);
        out.push({ id: `${split}-${k}-${j}`, features, captions: classCaptions(k) });
      }
    }
    return out;
  };
  return { encoderId: SYNTH_ENCODER, featureDim: SYNTH_DIM, train: images(perClass, 'train'), val: images(valPerClass, 'val') };
}

/** A small, fast model and run for tests. */
export const SMALL_CONFIG: TrainConfigInput = {
  epochs: 3,
  batchSize: 16,
  embedDim: 16,
  hiddenDim: 32,
  dropout: 0.1,
  minWordCount: 1,
  maxLength: 12,
  learningRate: { lr: 0.03, decayRate: 0.95, decayEvery: 1 },
  schedule: { type: 'linear', k: 1, c: 0.01, epsMin: 0.6 },
  patience: 0,
  valMaxImages: 12,
  seed: 7,
};
