/** Finds the installed encoder that produced features with a given id (models record only the id). */
import { BUNDLED_ENCODERS, bundledEncoderSpec, encoderId, type BundledEncoderName, type EncoderSpec } from './encoder.ts';

/** The bundled encoder spec whose id is `id` (a one-line error naming the installed ids otherwise). */
export function encoderSpecFor(id: string): EncoderSpec {
  const names = Object.keys(BUNDLED_ENCODERS) as BundledEncoderName[];
  for (const name of names) {
    const spec = bundledEncoderSpec(name);
    if (encoderId(spec) === id) return spec;
  }
  throw new Error(`the model needs image encoder ${id}, which is not installed (have: ${names.map((n) => encoderId(bundledEncoderSpec(n))).join(', ')})`);
}
