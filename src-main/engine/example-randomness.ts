/**
 * Randomness keyed per training example rather than per batch: every row of a mini-batch gets its own generator,
 * derived from the mini-batch's seed and the row's index in the mini-batch. A row's dropout masks, scheduled-
 * sampling coins and sampled words then depend only on (seed, row) — not on which other rows share its pass — so
 * a mini-batch split into shards across data-parallel workers draws exactly what one pass over the whole
 * mini-batch draws, and the trained weights agree for any worker count (up to floating-point summation order).
 */
import { Rng } from '../util/rng.ts';
import type { PackedBatch } from './decoder-batch.ts';
import { END } from './model-types.ts';
import { scratch } from './wasm-lstm.ts';

/** Generators for rows firstRow … firstRow + count − 1 of the mini-batch whose seed is `batchSeed`. */
export function exampleRngs(batchSeed: number, count: number, firstRow = 0): Rng[] {
  return Array.from({ length: count }, (_, k) => new Rng(mixSeed(batchSeed, firstRow + k)));
}

/** A 32-bit seed from (batch seed, row): a murmur3-style finaliser over their combination. */
function mixSeed(batchSeed: number, row: number): number {
  let h = (batchSeed ^ Math.imul(row + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The random choices of one training pass, laid out by packed position (see decoder-batch.ts). */
export interface PassRandomness {
  /** Inverted-dropout masks of the embeddings [N·E] and of h [N·H]; null without dropout. */
  readonly maskX: Float32Array | null;
  readonly maskH: Float32Array | null;
  /** 1 where the true previous word is fed. */
  readonly teacher: Uint8Array;
  readonly decisions: number;
  readonly teacherForced: number;
}

/** Makes an inverted-dropout mask of `size` elements with drop probability p from one generator (into `into` when given). */
export type DropoutMaskMaker = (size: number, p: number, rng: Rng, into?: Float32Array) => Float32Array;

/** One row's masks before they are scattered into packed order: reused from pass to pass (never given to a tensor). */
let rowMask = new Float32Array(0);
function rowMaskOf(size: number): Float32Array {
  if (rowMask.length < size) rowMask = new Float32Array(size);
  return rowMask;
}

/**
 * Draws a pass's masks and coins row by row: row b (original order) takes, from `rowRngs[b]`, its embedding
 * mask (lengths[b]·E values), its hidden mask (lengths[b]·H), then one coin per position t ≥ 1 — and later the
 * words sampled for it. The result is scattered into packed order.
 */
export function drawPerRow(
  pk: PackedBatch,
  rowRngs: readonly Rng[],
  dims: { readonly E: number; readonly H: number; readonly dropout: number; readonly epsilon: number },
  makeMask: DropoutMaskMaker,
): PassRandomness {
  const { E, H, dropout, epsilon } = dims;
  if (rowRngs.length !== pk.batchSize) throw new Error(`decoder: ${rowRngs.length} row generators for a batch of ${pk.batchSize} rows`);
  const N = pk.tokens;
  // Every element is written below (each packed position is one row's one step). Reused on wasm (scratch).
  const maskX = dropout > 0 ? scratch('dropout mask x', N * E) : null;
  const maskH = dropout > 0 ? scratch('dropout mask h', N * H) : null;
  const teacher = new Uint8Array(N).fill(1);
  let decisions = 0;
  let teacherForced = 0;
  for (let r = 0; r < pk.batchSize; r++) {
    const b = pk.order[r]!;
    const len = pk.lengths[b]!;
    if (len === 0) continue;
    const rng = rowRngs[b]!;
    if (maskX && maskH) {
      const mx = makeMask(len * E, dropout, rng, rowMaskOf(len * E));
      for (let t = 0; t < len; t++) maskX.set(mx.subarray(t * E, (t + 1) * E), (pk.offsetAt[t]! + r) * E);
      const mh = makeMask(len * H, dropout, rng, rowMaskOf(len * H));
      for (let t = 0; t < len; t++) maskH.set(mh.subarray(t * H, (t + 1) * H), (pk.offsetAt[t]! + r) * H);
    }
    for (let t = 1; t < len; t++) {
      // A position whose target is <end> always gets the caption's own last word: <end> is right only after it, and
      // after a sampled word ("… on top of a") it would teach the model to stop mid-sentence.
      if (pk.targets[pk.offsetAt[t]! + r] === END) continue;
      const coin = epsilon >= 1 ? true : epsilon <= 0 ? false : rng.next() < epsilon;
      teacher[pk.offsetAt[t]! + r] = coin ? 1 : 0;
      decisions++;
      if (coin) teacherForced++;
    }
  }
  return { maskX, maskH, teacher, decisions, teacherForced };
}
