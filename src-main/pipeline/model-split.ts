/**
 * The split a model was trained with, as its provenance records it, read back so evaluation holds out exactly the
 * images the model never trained on (nor chose its epoch by). Every model trained by `trainModel` records one:
 * `{ seed, valFraction, testFraction }` for a seeded split, or `'dataset'` when the dataset had its own.
 */
import type { SplitSpec } from '../data/dataset-types.ts';
import type { JsonValue, ModelMetadata } from '../engine/caption-model.ts';

/** The split as recorded in provenance. */
export function splitProvenance(split: SplitSpec | 'dataset'): JsonValue {
  return split === 'dataset' ? 'dataset' : { seed: split.seed, valFraction: split.valFraction, testFraction: split.testFraction };
}

/** The seeded split recorded in a model's provenance, or undefined when it records none (or the dataset's own). */
export function recordedSplit(metadata: ModelMetadata): SplitSpec | undefined {
  const split = metadata.provenance?.split;
  if (split && typeof split === 'object' && !Array.isArray(split)) {
    const { seed, valFraction, testFraction } = split as Record<string, unknown>;
    if (typeof seed === 'number' && typeof valFraction === 'number' && typeof testFraction === 'number') {
      return { seed, valFraction, testFraction };
    }
  }
  return undefined;
}

/** What a model's provenance says about its held-out images. */
export type ModelSplit =
  | { readonly kind: 'seeded'; readonly split: SplitSpec }
  | { readonly kind: 'dataset' }
  | { readonly kind: 'none' };

export function modelSplit(metadata: ModelMetadata): ModelSplit {
  const seeded = recordedSplit(metadata);
  if (seeded) return { kind: 'seeded', split: seeded };
  return metadata.provenance?.split === 'dataset' ? { kind: 'dataset' } : { kind: 'none' };
}

/**
 * Why a model has no held-out test images to score (null when it has): no split recorded, or a seeded one
 * without a test share. One line, for `eval` and `info`.
 */
export function missingTestSplit(metadata: ModelMetadata): string | null {
  const s = modelSplit(metadata);
  if (s.kind === 'none') return 'the model records no split, so which images it trained on is unknown: it has no held-out test images';
  if (s.kind === 'seeded' && s.split.testFraction === 0) return 'the model was trained with no test split (test fraction 0): every image was used for training or validation';
  return null;
}

/** One line describing a model's split (for `info`). */
export function describeModelSplit(metadata: ModelMetadata): string {
  const s = modelSplit(metadata);
  if (s.kind === 'dataset') return "the dataset's own train/val/test";
  if (s.kind === 'none') return 'none recorded (eval cannot hold out its training images)';
  const pct = (x: number): string => `${Number((x * 100).toFixed(2))}%`;
  return `seed ${s.split.seed}, ${pct(s.split.valFraction)} validation, ${pct(s.split.testFraction)} test${s.split.testFraction === 0 ? ' (no test images: eval has nothing held out)' : ''}`;
}
