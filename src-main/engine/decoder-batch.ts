/**
 * Turns a `CaptionBatch` into the packed layout the decoder's training pass runs on (plain JS, no tensors).
 *
 * Rows are sorted by their number of valid steps, longest first (stable), so that the rows still running at
 * step t are always the first n_t rows: every per-step tensor is a contiguous block, finished rows cost
 * nothing, and all valid positions together form one [N, ·] matrix in time-major order (step 0's n_0 rows,
 * then step 1's n_1 rows, …) for the batched output projection and the batched weight gradients.
 */
import { END, PAD, type CaptionBatch, type DecoderConfig } from './model-types.ts';

/** A batch laid out for the training pass. Positions are indexed k = offsetAt[t] + r for sorted row r < n_t. */
export interface PackedBatch {
  readonly batchSize: number;
  /** Steps per row in the batch, L − 1. */
  readonly maxSteps: number;
  /** Valid steps of each ORIGINAL row: up to and including the step whose target is <end>; never a <pad> target. */
  readonly lengths: Int32Array;
  /** Sorted row r → original row index (longest first, ties in original order). */
  readonly order: Int32Array;
  /** Steps that have at least one valid row (max of lengths). */
  readonly steps: number;
  /** n_t: rows still valid at step t, for t < steps (non-increasing). */
  readonly rowsAt: Int32Array;
  /** Index of step t's first position in the packed order. */
  readonly offsetAt: Int32Array;
  /** N: valid positions in total (= target tokens counted by the loss). */
  readonly tokens: number;
  /** Target token of each packed position. */
  readonly targets: Int32Array;
  /** Teacher-forced input token of each packed position (tokens[b, t]). */
  readonly inputs: Int32Array;
}

/**
 * Checks a batch against the config and packs it. Throws a one-line Error naming the problem.
 * `where` names the caller in the message, e.g. 'decoder.lossAndGradients'.
 */
export function packBatch(batch: CaptionBatch, cfg: DecoderConfig, where: string): PackedBatch {
  const B = batch.batchSize;
  const L = batch.length;
  if (!Number.isInteger(B) || B < 1) throw new Error(`${where}: batchSize must be a positive integer, got ${B}`);
  if (!Number.isInteger(L) || L < 2) throw new Error(`${where}: length must be at least 2 (<start> and one target), got ${L}`);
  if (batch.tokens.length !== B * L) {
    throw new Error(`${where}: tokens has ${batch.tokens.length} entries, expected batchSize×length = ${B}×${L} = ${B * L}`);
  }
  const fshape = batch.features.shape;
  if (fshape.length !== 2 || fshape[0] !== B || fshape[1] !== cfg.featureDim) {
    throw new Error(`${where}: features have shape [${fshape.join(',')}], expected [${B},${cfg.featureDim}]`);
  }
  const V = cfg.vocabSize;
  for (let k = 0; k < batch.tokens.length; k++) {
    const id = batch.tokens[k]!;
    if (!Number.isInteger(id) || id < 0 || id >= V) {
      throw new Error(`${where}: token id ${id} at row ${Math.floor(k / L)}, position ${k % L} is outside the vocabulary [0, ${V})`);
    }
  }

  const T = L - 1;
  const lengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let n = 0;
    for (let t = 0; t < T; t++) {
      const target = batch.tokens[b * L + t + 1]!;
      if (target === PAD) break;
      n++;
      if (target === END) break;
    }
    lengths[b] = n;
  }
  const order = Int32Array.from({ length: B }, (_, b) => b).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  const steps = B > 0 ? lengths[order[0]!]! : 0;
  const rowsAt = new Int32Array(steps);
  const offsetAt = new Int32Array(steps);
  let tokens = 0;
  for (let t = 0; t < steps; t++) {
    let n = 0;
    while (n < B && lengths[order[n]!]! > t) n++;
    rowsAt[t] = n;
    offsetAt[t] = tokens;
    tokens += n;
  }
  const targets = new Int32Array(tokens);
  const inputs = new Int32Array(tokens);
  for (let t = 0; t < steps; t++) {
    for (let r = 0; r < rowsAt[t]!; r++) {
      const b = order[r]!;
      targets[offsetAt[t]! + r] = batch.tokens[b * L + t + 1]!;
      inputs[offsetAt[t]! + r] = batch.tokens[b * L + t]!;
    }
  }
  return { batchSize: B, maxSteps: T, lengths, order, steps, rowsAt, offsetAt, tokens, targets, inputs };
}
