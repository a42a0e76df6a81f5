/** The seeded split a model was trained with, read back from its provenance so evaluation holds out the same images. */
import type { SplitSpec } from '../data/dataset-types.ts';
import type { CaptionModel, ModelMetadata } from '../engine/caption-model.ts';
import { DEFAULT_SPLIT } from '../pipeline/training-data.ts';

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

/** The split to evaluate `model` on: the one it was trained with, else the default. */
export function splitOfModel(model: CaptionModel): SplitSpec {
  return recordedSplit(model.metadata) ?? DEFAULT_SPLIT;
}
