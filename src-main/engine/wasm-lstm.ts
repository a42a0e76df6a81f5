/**
 * The workarounds that make the LSTM's training pass fast on tfjs-backend-wasm, kept apart so that
 * decoder-train.ts reads as the LSTM equations:
 * - the gate products as one plain matMul [W_x; W_h; b]ᵀ·zᵀ whose rows are the gates, each gate's block transposed
 *   back by the kernel (which packs zᵀ per step instead of the weights per pass), or, where the kernels cannot run,
 *   one matMul per gate on per-gate weight blocks built in JS (tf.slice of columns copies the whole source on wasm,
 *   and matMul with transposes is 10–40× slower);
 * - tanh through the sigmoid kernel (~10× faster there): tanh(x) = 2σ(2x) − 1, with the g gate's block and image
 *   term pre-scaled by 2 so that one σ gives it;
 * - rows taken, padded and split without tf.slice / tf.split / gather on big tensors (each copies its source);
 * - embedding rows looked up and their gradients scatter-added in JS (wasm's gather has no gradient kernel).
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { LstmKernels } from './kernels/lstm-kernels.ts';
import type { DecoderWeights } from './model-types.ts';

/**
 * A float32 tensor's values without a copy where the backend is wasm (a view of its heap), else a copy. The view
 * is valid only until the backend next allocates (the heap may grow and move): read it before making tensors.
 */
export function heapValues(t: tf.Tensor): Float32Array {
  return (tf.getBackend() === 'wasm' ? (tf.backend() as BackendWasm).typedArrayFromHeap(t) : t.dataSync()) as Float32Array;
}

/**
 * A Float32Array of `size` for building tensor data in JS, reused from pass to pass under `name` where the backend
 * copies what a tensor is made from (wasm copies it into its heap): a training pass then allocates no large
 * ArrayBuffers, which otherwise trigger a full garbage collection about once per pass. Elsewhere (cpu keeps the
 * array it is given) a new array. Not zeroed: the caller writes every element it uses.
 */
export function scratch(name: string, size: number): Float32Array {
  if (tf.getBackend() !== 'wasm') return new Float32Array(size);
  let buf = scratchBuffers.get(name);
  if (!buf || buf.length < size) {
    buf = new Float32Array(size);
    scratchBuffers.set(name, buf);
  }
  return buf.subarray(0, size);
}
const scratchBuffers = new Map<string, Float32Array>();

/** Index of the g (cell candidate) gate in the i, f, g, o order. */
const G_GATE = 2;

/**
 * Per-gate blocks [W_x; W_h; b][:, gate] of shape [E+H+1, H], built in JS: slicing columns with tf.slice
 * costs a copy of the whole source on wasm, and one matMul per gate gives each gate its own tensor.
 * The g block is scaled by 2 so that σ(pre) yields σ(2·pre_g) and tanh(pre_g) = 2σ(2·pre_g) − 1 (wasm's tanh
 * is ~10× slower than its sigmoid).
 */
function gateBlocks(w: DecoderWeights, E: number, H: number): tf.Tensor[] {
  // Every block is built from views of the weights before any tensor is made (making one may move the heap).
  const wx = heapValues(w.W_x);
  const wh = heapValues(w.W_h);
  const bb = heapValues(w.b);
  const K = E + H + 1;
  const G = 4 * H;
  const blocks = [0, 1, 2, 3].map((j) => {
    const out = scratch(`gate block ${j}`, K * H);
    const scale = j === G_GATE ? 2 : 1;
    for (let r = 0; r < E; r++) copyRow(wx, r * G + j * H, out, r * H, H, scale);
    for (let r = 0; r < H; r++) copyRow(wh, r * G + j * H, out, (E + r) * H, H, scale);
    copyRow(bb, j * H, out, (E + H) * H, H, scale);
    return out;
  });
  return blocks.map((out) => tf.tensor2d(out, [K, H]));
}

/**
 * The image term v·W_v split per gate (g scaled by 2), as tensors of the first n rows, made on demand. With
 * `kernels` (lstmKernels; null: tensor ops only) it is computed as (W_vᵀ·vᵀ)ᵀ: a matMul packs its right operand first, and packing W_v
 * [F, 4H] for a product of a few dozen rows costs twice the product itself.
 */
export function injectedTerms(feats: tf.Tensor, w: DecoderWeights, H: number, kernels: LstmKernels | null): (gate: number, n: number) => tf.Tensor {
  const projected = kernels ? kernels.transpose(tf.matMul(kernels.transpose(w.W_v), kernels.transpose(feats))) : tf.matMul(feats, w.W_v);
  const all = heapValues(projected); // [n0, 4H], read before any tensor is made
  const n0 = feats.shape[0]!;
  const perGate = [0, 1, 2, 3].map((j) => {
    const out = scratch(`image term ${j}`, n0 * H); // every element is written
    for (let r = 0; r < n0; r++) copyRow(all, r * 4 * H + j * H, out, r * H, H, j === G_GATE ? 2 : 1);
    return out;
  });
  const made = new Map<number, tf.Tensor>();
  return (gate, n) => {
    const key = gate * 1_000_000 + n;
    let t = made.get(key);
    if (!t) {
      t = tf.tensor2d(perGate[gate]!.subarray(0, n * H), [n, H]);
      made.set(key, t);
    }
    return t;
  };
}

/**
 * The forward pass's gate weights: where the transpose kernel runs, [W_x; W_h; b]ᵀ as one [4H, E+H+1] tensor (g rows
 * scaled by 2), whose product with zᵀ gives every gate's pre-activations transposed, each gate a block of rows; else
 * the per-gate blocks of `gateBlocks`. A matMul packs its right operand before its first product: packing zᵀ
 * ([E+H+1, n], per step) costs far less than packing the four [E+H+1, H] blocks (per pass, ~8 ms at H 512), and
 * the products give the same bits (each element is the same dot product, summed in the same order).
 */
export type GateWeights = { readonly blocks: readonly tf.Tensor[] } | { readonly stackedT: tf.Tensor; readonly kernels: LstmKernels };

/** The gate weights for `lstmGates` (see GateWeights; the blocks when `kernels` is null). Call inside tf.tidy. */
export function gateWeights(w: DecoderWeights, E: number, H: number, kernels: LstmKernels | null): GateWeights {
  if (!kernels) return { blocks: gateBlocks(w, E, H) };
  const K = E + H + 1;
  const G = 4 * H;
  // [W_x; W_h; b] is the three tensors one after the other; read before any tensor is made (making one may move the heap).
  const stacked = scratch('stacked gate weights', K * G);
  stacked.set(heapValues(w.W_x), 0);
  stacked.set(heapValues(w.W_h), E * G);
  stacked.set(heapValues(w.b), (E + H) * G);
  for (let r = 0; r < K; r++) {
    const from = r * G + G_GATE * H;
    for (let j = from; j < from + H; j++) stacked[j]! *= 2;
  }
  return { stackedT: kernels.transpose(tf.tensor2d(stacked, [K, G])), kernels };
}

/**
 * The four gate activations of one step, i, f, g, o = σ, σ, tanh, σ of z·block_j (+ the image term), from
 * `gateWeights` and, where the image enters at this step, `injected(j)`.
 */
export function lstmGates(z: tf.Tensor, weights: GateWeights, injected: ((gate: number) => tf.Tensor) | null): { i: tf.Tensor; f: tf.Tensor; g: tf.Tensor; o: tf.Tensor } {
  let pre: tf.Tensor[];
  if ('blocks' in weights) pre = weights.blocks.map((block) => tf.matMul(z, block));
  else {
    const H = weights.stackedT.shape[0]! / 4;
    const preT = tf.matMul(weights.stackedT, weights.kernels.transpose(z)); // [4H, n]: gate j in rows jH … jH+H−1
    pre = [0, 1, 2, 3].map((j) => weights.kernels.transposeRows(preT, j * H, H));
  }
  const [i, f, sg, o] = pre.map((p, j) => tf.sigmoid(injected ? tf.add(p, injected(j)) : p)) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  // The g block was scaled by 2: σ(2·pre_g)·2 − 1 = tanh(pre_g).
  return { i, f, g: tf.sub(tf.mul(sg, 2), 1), o };
}

/** The embedding rows of the words fed at packed positions off … off+n−1, times their dropout mask, as [n, E]. */
export function embedRows(emb: Float32Array, fed: Int32Array, off: number, n: number, E: number, mask: Float32Array | null): tf.Tensor {
  const xs = scratch('embedded rows', n * E); // every element is written
  for (let r = 0; r < n; r++) {
    const src = fed[off + r]! * E;
    if (mask) {
      const m = (off + r) * E;
      for (let j = 0; j < E; j++) xs[r * E + j] = emb[src + j]! * mask[m + j]!;
    } else xs.set(emb.subarray(src, src + E), r * E);
  }
  return tf.tensor2d(xs, [n, E]);
}

/** dEmbedding: each fed word's row gets the gradient of its input (times its dropout mask), summed in JS. */
export function scatterAddRows(rows: Float32Array, mask: Float32Array | null, ids: Int32Array, V: number, E: number): Float32Array {
  const out = scratch('embedding gradient', V * E).fill(0);
  for (let k = 0; k < ids.length; k++) {
    const dst = ids[k]! * E;
    const src = k * E;
    if (mask) for (let j = 0; j < E; j++) out[dst + j]! += rows[src + j]! * mask[src + j]!;
    else for (let j = 0; j < E; j++) out[dst + j]! += rows[src + j]!;
  }
  return out;
}

/**
 * The softmax cross-entropy's gradient with respect to the logits, (p − onehot(target)) · scale, as an [n, V]
 * tensor made in JS from `probs` [n, V] (one read and one tensor instead of oneHot, cast, sub and mul kernels;
 * the same float32 roundings: the subtraction, then the product).
 */
export function softmaxCrossEntropyGradient(probs: tf.Tensor, targets: Int32Array, scale: number): tf.Tensor {
  const [n, V] = probs.shape as [number, number];
  const out = copyOf(probs, 'softmax gradient');
  const s = Math.fround(scale); // a float32 scalar, as tf.mul's
  for (let r = 0; r < n; r++) out[r * V + targets[r]!]! -= 1;
  for (let k = 0; k < out.length; k++) out[k]! *= s;
  return tf.tensor2d(out, [n, V]);
}

/** tanh(x) = 2σ(2x) − 1: wasm's sigmoid kernel is much faster than its tanh. */
export function fastTanh(x: tf.Tensor): tf.Tensor {
  return tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1);
}

function copyRow(src: Float32Array, from: number, dst: Float32Array, to: number, len: number, scale: number): void {
  if (scale === 1) dst.set(src.subarray(from, from + len), to);
  else for (let j = 0; j < len; j++) dst[to + j] = src[from + j]! * scale;
}

/** Splits a [Σ sizes, C] tensor into row blocks through one read (tf.slice would copy the whole source per block). */
export function splitRows(x: tf.Tensor, sizes: number[]): tf.Tensor[] {
  const data = copyOf(x, 'split rows');
  const cols = x.shape[1]!;
  let row = 0;
  return sizes.map((n) => {
    const block = tf.tensor2d(data.subarray(row * cols, (row + n) * cols), [n, cols]);
    row += n;
    return block;
  });
}

/** A tensor's values in a reused scratch array (see `scratch`): valid until the next call with the same name. */
export function copyOf(x: tf.Tensor, name: string): Float32Array {
  const out = scratch(name, x.size);
  out.set(heapValues(x));
  return out;
}

/** The first n rows of a [m, ·] tensor (itself when m = n). */
export function takeRows(x: tf.Tensor, n: number): tf.Tensor {
  return x.shape[0] === n ? x : tf.slice(x, [0, 0], [n, x.shape[1]!]);
}

/** A [m, ·] tensor padded with zero rows to n ≥ m rows. */
export function padRows(x: tf.Tensor, n: number): tf.Tensor {
  const m = x.shape[0]!;
  return m === n ? x : tf.pad(x, [[0, n - m], [0, 0]]);
}
