/**
 * Scores a caption model on a dataset split with the COCO caption metrics, and the nearest-neighbour baseline
 * the README reports beside it: each evaluated image gets the first caption of the training image whose
 * MobileNet feature is closest (cosine similarity), scored the same way.
 */
import { captionFeatures, type CaptionOptions } from '../engine/captioner.ts';
import type { CaptionModel } from '../engine/caption-model.ts';
import { evaluateCaptions, type CaptionScores } from '../engine/metrics/evaluate.ts';
import type { FeaturedItem } from './training-data.ts';

/** One evaluated image: the caption it got and its references. */
export interface Prediction {
  readonly id: string;
  readonly path: string;
  readonly caption: string;
  readonly score?: number;
  readonly references: readonly string[];
}

export interface Evaluation {
  readonly images: number;
  readonly metrics: CaptionScores;
  readonly predictions: readonly Prediction[];
}

function score(predictions: Prediction[]): Evaluation {
  const refs = new Map(predictions.map((p) => [p.id, p.references]));
  const hyps = new Map(predictions.map((p) => [p.id, p.caption]));
  return { images: predictions.length, metrics: evaluateCaptions(refs, hyps), predictions };
}

/** Captions every featured item with the model and scores the captions against the items' references. */
export function evaluateModel(
  model: CaptionModel,
  encoderId: string,
  items: readonly FeaturedItem[],
  opts: Omit<CaptionOptions, 'encoderId'> = {},
): Evaluation {
  if (items.length === 0) throw new Error('evaluate: no captioned images in the chosen split');
  const results = captionFeatures(
    model,
    items.map((f) => f.features),
    { ...opts, encoderId },
  );
  return score(
    items.map((f, i) => ({ id: f.item.id, path: f.item.imagePath, caption: results[i]!.caption, score: results[i]!.score, references: f.item.captions })),
  );
}

/** The nearest-neighbour baseline: each query image takes the first caption of its closest training image. */
export function evaluateNearestNeighbour(train: readonly FeaturedItem[], queries: readonly FeaturedItem[]): Evaluation {
  if (train.length === 0) throw new Error('nearest-neighbour baseline: no training images');
  if (queries.length === 0) throw new Error('nearest-neighbour baseline: no captioned images in the chosen split');
  const unit = (v: Float32Array): Float32Array => {
    let n = 0;
    for (const x of v) n += x * x;
    const s = n > 0 ? 1 / Math.sqrt(n) : 0;
    return v.map((x) => x * s);
  };
  const trainUnit = train.map((t) => unit(t.features));
  const predictions = queries.map((q) => {
    const u = unit(q.features);
    let best = 0;
    let bestSim = Number.NEGATIVE_INFINITY;
    trainUnit.forEach((t, j) => {
      let s = 0;
      for (let k = 0; k < u.length; k++) s += u[k]! * t[k]!;
      if (s > bestSim) {
        bestSim = s;
        best = j;
      }
    });
    return { id: q.item.id, path: q.item.imagePath, caption: train[best]!.item.captions[0]!, score: bestSim, references: q.item.captions };
  });
  return score(predictions);
}
