/**
 * Quantised encodings of float32 weights in the TF.js weights format: float16 (half the size, ~3 significant
 * digits) and affine uint8 (a quarter, value = q·scale + min), written with the manifest `quantization` entries
 * that `tf.io.decodeWeights` understands, so plain @tensorflow/tfjs reads them back.
 */
import type * as tf from '@tensorflow/tfjs';

/** How weights are stored in a bundle. */
export type WeightStorage = 'float32' | 'float16' | 'uint8';

/** One tensor's bytes and manifest entry. */
export interface EncodedWeight {
  readonly bytes: Uint8Array;
  readonly spec: tf.io.WeightsManifestEntry;
}

/** Encodes one float32 tensor's values (row-major) under `name` with shape `shape`. */
export function encodeWeight(name: string, shape: number[], values: Float32Array, storage: WeightStorage): EncodedWeight {
  switch (storage) {
    case 'float32':
      return { bytes: new Uint8Array(values.slice().buffer), spec: { name, shape, dtype: 'float32' } };
    case 'float16': {
      const half = new Uint16Array(values.length);
      for (let i = 0; i < values.length; i++) half[i] = float32ToFloat16(values[i]!);
      return { bytes: new Uint8Array(half.buffer), spec: { name, shape, dtype: 'float32', quantization: { dtype: 'float16' } } };
    }
    case 'uint8': {
      let min = Infinity;
      let max = -Infinity;
      for (const v of values) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      if (values.length === 0) min = max = 0;
      const scale = max > min ? (max - min) / 255 : 1;
      const q = new Uint8Array(values.length);
      for (let i = 0; i < values.length; i++) q[i] = Math.round((values[i]! - min) / scale);
      return { bytes: q, spec: { name, shape, dtype: 'float32', quantization: { dtype: 'uint8', scale, min } } };
    }
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The IEEE 754 half-precision bits nearest to `value` (round half to even; overflow gives ±Infinity). */
export function float32ToFloat16(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Infinity or NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // too large: Infinity
  if (e <= 0) {
    // Subnormal half (or zero): m · 2^-24 with m = (1.mant · 2^(exp−127)) · 2^24.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to Infinity).
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}
