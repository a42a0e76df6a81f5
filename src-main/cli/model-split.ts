/** The seeded split a model was trained with, read back from its provenance so evaluation holds out the same images. */
import type { SplitSpec } from '../data/dataset-types.ts';
import type { CaptionModel } from '../engine/caption-model.ts';
import { DEFAULT_SPLIT } from '../pipeline/training-data.ts';

export function splitOfModel(model: CaptionModel): SplitSpec {
  const split = model.metadata.provenance?.split;
  if (split && typeof split === 'object' && !Array.isArray(split)) {
    const { seed, valFraction, testFraction } = split as Record<string, unknown>;
    if (typeof seed === 'number' && typeof valFraction === 'number' && typeof testFraction === 'number') {
      return { seed, valFraction, testFraction };
    }
  }
  return DEFAULT_SPLIT;
}
