/**
 * The decoder's training pass: a forward run over a packed batch with scheduled sampling and dropout, the
 * masked softmax cross-entropy, and hand-written backpropagation through time.
 *
 * Written for tfjs-backend-wasm, where a plain matMul is fast (~25-30 GFLOP/s) and matMul with transposeA/B is
 * 10-40× slower and `gather` has no gradient kernel: every product below is a plain matMul, with explicit
 * `tf.transpose` where the maths wants Xᵀ, and the embedding gradient is a scatter-add in JS.
 *
 * Formulation, per step t with the n_t still-running rows (see decoder-batch.ts):
 *   z_t = [x_t | h_{t-1} | 1]                                 [n_t, E+H+1]
 *   pre_t^j = z_t · [W_x; W_h; b][:, gate j] (+ v·W_v)        one matMul per gate j ∈ {i, f, g, o}
 *   p_t = softmax(dropout(h_t) · W_out + b_out)
 * Backward: per step dLogits_t and dh_t = dLogits_t·W_outᵀ feed BPTT; then all steps at once:
 * d[W_x; W_h; b] = Zᵀ·dG, dW_out = Hdᵀ·dLogits, db_out = 1ᵀ·dLogits, dX = dG·W_xᵀ.
 * Avoided on wasm because they copy the whole source tensor per call: tf.slice / tf.split / gather on big
 * tensors (blocks are built or split in JS instead); tanh is computed as 2σ(2x) − 1 (the sigmoid kernel is
 * ~10× faster). RNG order: dropout masks, then the coins, then the samples step by step.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.ts';
import type { PackedBatch } from './decoder-batch.ts';
import { END, type CaptionBatch, type DecoderConfig, type DecoderGrads, type DecoderWeights } from './model-types.ts';

/** How a training pass feeds its inputs and whether dropout is on. */
export interface TrainingPassOptions {
  /** Probability of feeding the true previous word at each position t ≥ 1 (1 = teacher forcing). */
  readonly epsilon: number;
  /** How the model's own word is chosen when the true one is not fed. */
  readonly sampling: 'sample' | 'argmax';
  /** Dropout on (training) or off. */
  readonly training: boolean;
  /** Source of every random choice (dropout masks, coins, samples), consumed in that order. */
  readonly rng: Rng;
}

/** What one training pass gives: the loss, the token count and the gradients (owned by the caller). */
export interface LossAndGradients {
  /** Mean softmax cross-entropy per unmasked target token. */
  readonly loss: number;
  /** Number of unmasked target tokens. */
  readonly tokens: number;
  readonly grads: DecoderGrads;
  /** Share of positions t ≥ 1 (unmasked) that were fed the true previous word; 1 when there are none. */
  readonly teacherForcedFraction: number;
}

interface StepCache {
  /** [x_t | h_{t-1} | 1], the input of the gate matMuls. */
  readonly z: tf.Tensor;
  readonly i: tf.Tensor;
  readonly f: tf.Tensor;
  readonly g: tf.Tensor;
  readonly o: tf.Tensor;
  readonly cPrev: tf.Tensor | null;
  readonly tc: tf.Tensor;
  /** h_t after dropout, the input of the output layer. */
  readonly hd: tf.Tensor;
  readonly probs: tf.Tensor;
}

interface ForwardResult {
  readonly cache: StepCache[];
  /** The word actually fed at each packed position. */
  readonly fed: Int32Array;
  readonly maskX: Float32Array | null;
  readonly maskH: Float32Array | null;
  /** Features of the sorted rows that have at least one step, [n_0, F]. */
  readonly feats: tf.Tensor;
  readonly teacherForced: number;
  readonly decisions: number;
}

interface ForwardMode {
  readonly dropout: number;
  readonly epsilon: number;
  readonly sampling: 'sample' | 'argmax';
  readonly rng: Rng | null;
}

/**
 * Per-gate blocks [W_x; W_h; b][:, gate] of shape [E+H+1, H], built in JS: slicing columns with tf.slice
 * costs a copy of the whole source on wasm, and one matMul per gate gives each gate its own tensor.
 * The g block is scaled by 2 so that σ(pre) yields σ(2·pre_g) and tanh(pre_g) = 2σ(2·pre_g) − 1 (wasm's tanh
 * is ~10× slower than its sigmoid).
 */
function gateBlocks(w: DecoderWeights, E: number, H: number): tf.Tensor[] {
  const wx = w.W_x.dataSync() as Float32Array;
  const wh = w.W_h.dataSync() as Float32Array;
  const bb = w.b.dataSync() as Float32Array;
  const K = E + H + 1;
  const G = 4 * H;
  return [0, 1, 2, 3].map((j) => {
    const out = new Float32Array(K * H);
    const scale = j === 2 ? 2 : 1;
    for (let r = 0; r < E; r++) copyRow(wx, r * G + j * H, out, r * H, H, scale);
    for (let r = 0; r < H; r++) copyRow(wh, r * G + j * H, out, (E + r) * H, H, scale);
    copyRow(bb, j * H, out, (E + H) * H, H, scale);
    return tf.tensor2d(out, [K, H]);
  });
}

/** The image term v·W_v split per gate (g scaled by 2), as tensors of the first n rows, made on demand. */
function injectedTerms(feats: tf.Tensor, w: DecoderWeights, H: number): (gate: number, n: number) => tf.Tensor {
  const all = tf.matMul(feats, w.W_v).dataSync() as Float32Array; // [n0, 4H]
  const n0 = feats.shape[0]!;
  const perGate = [0, 1, 2, 3].map((j) => {
    const out = new Float32Array(n0 * H);
    for (let r = 0; r < n0; r++) copyRow(all, r * 4 * H + j * H, out, r * H, H, j === 2 ? 2 : 1);
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

/** Call inside tf.tidy: every tensor it makes is left for the caller's tidy to collect or keep. */
function forward(w: DecoderWeights, cfg: DecoderConfig, batch: CaptionBatch, pk: PackedBatch, mode: ForwardMode): ForwardResult {
  const E = cfg.embedDim;
  const H = cfg.hiddenDim;
  const N = pk.tokens;
  const rng = mode.rng;
  const p = mode.dropout;

  // 1. Dropout masks (inverted dropout), position by position.
  let maskX: Float32Array | null = null;
  let maskH: Float32Array | null = null;
  if (p > 0) {
    if (!rng) throw new Error('decoder: dropout needs an rng');
    maskX = dropoutMask(N * E, p, rng);
    maskH = dropoutMask(N * H, p, rng);
  }
  // 2. Coins: 1 = feed the true previous word. Position t = 0 always gets <start>. A position whose target is
  //    <end> always gets the true last word: <end> is right only after the sentence's own last word, and after a
  //    sampled one ("… on top of a") it would teach the model to stop mid-sentence.
  const teacher = new Uint8Array(N).fill(1);
  let decisions = 0;
  let teacherForced = 0;
  for (let t = 1; t < pk.steps; t++) {
    for (let r = 0; r < pk.rowsAt[t]!; r++) {
      const k = pk.offsetAt[t]! + r;
      if (pk.targets[k] === END) continue;
      let coin: boolean;
      if (mode.epsilon >= 1) coin = true;
      else if (mode.epsilon <= 0) coin = false;
      else {
        if (!rng) throw new Error('decoder: scheduled sampling needs an rng');
        coin = rng.next() < mode.epsilon;
      }
      teacher[k] = coin ? 1 : 0;
      decisions++;
      if (coin) teacherForced++;
    }
  }
  const fed = pk.inputs.slice();

  const n0 = pk.rowsAt[0]!;
  const feats = tf.gather(batch.features, tf.tensor1d(pk.order.subarray(0, n0), 'int32'));
  const injected = injectedTerms(feats, w, H);
  const blocks = gateBlocks(w, E, H);
  const emb = w.embedding.dataSync() as Float32Array; // embedding rows are looked up in JS (wasm's gather is slow)

  const cache: StepCache[] = [];
  let h: tf.Tensor | null = null;
  let c: tf.Tensor | null = null;
  for (let t = 0; t < pk.steps; t++) {
    const n = pk.rowsAt[t]!;
    const off = pk.offsetAt[t]!;
    const xs = new Float32Array(n * E);
    for (let r = 0; r < n; r++) {
      const src = fed[off + r]! * E;
      if (maskX) {
        const m = (off + r) * E;
        for (let j = 0; j < E; j++) xs[r * E + j] = emb[src + j]! * maskX[m + j]!;
      } else xs.set(emb.subarray(src, src + E), r * E);
    }
    const hPrev: tf.Tensor = h === null ? tf.zeros([n, H]) : takeRows(h, n);
    const cPrev: tf.Tensor | null = c === null ? null : takeRows(c, n);
    const z: tf.Tensor = tf.concat([tf.tensor2d(xs, [n, E]), hPrev, tf.ones([n, 1])], 1);
    const inject = cfg.injection === 'every' || t === 0;
    const [i, f, sg, o] = blocks.map((block, j) => {
      const pre = tf.matMul(z, block);
      return tf.sigmoid(inject ? tf.add(pre, injected(j, n)) : pre);
    }) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const g = tf.sub(tf.mul(sg, 2), 1);
    c = cPrev === null ? tf.mul(i, g) : tf.add(tf.mul(f, cPrev), tf.mul(i, g));
    const tc = fastTanh(c);
    h = tf.mul(o, tc);
    const hd = maskH ? tf.mul(h, tf.tensor2d(maskH.subarray(off * H, (off + n) * H), [n, H])) : h;
    const probs = tf.softmax(tf.fused.matMul({ a: hd as tf.Tensor2D, b: w.W_out as tf.Tensor2D, bias: w.b_out }));
    cache.push({ z, i, f, g, o, cPrev, tc, hd, probs });

    // Choose the model's own words for the next step's rows whose coin said so (no gradient flows here).
    if (t + 1 < pk.steps) {
      const nNext = pk.rowsAt[t + 1]!;
      const offNext = pk.offsetAt[t + 1]!;
      let data: Float32Array | null = null;
      for (let r = 0; r < nNext; r++) {
        if (teacher[offNext + r]) continue;
        data ??= probs.dataSync() as Float32Array;
        const row = data.subarray(r * cfg.vocabSize, (r + 1) * cfg.vocabSize);
        fed[offNext + r] = mode.sampling === 'argmax' ? argmax(row) : sampleFrom(row, rngOrThrow(rng));
      }
    }
  }
  return { cache, fed, maskX, maskH, feats, teacherForced, decisions };
}

/**
 * Loss and hand-computed gradients for a packed batch. The returned grads are the caller's to dispose.
 * `pk.tokens` must be > 0.
 */
export function trainingPass(
  w: DecoderWeights,
  cfg: DecoderConfig,
  batch: CaptionBatch,
  pk: PackedBatch,
  opts: TrainingPassOptions,
): LossAndGradients {
  const E = cfg.embedDim;
  const H = cfg.hiddenDim;
  const V = cfg.vocabSize;
  const N = pk.tokens;
  let loss = 0;
  let fraction = 1;
  const grads = tf.tidy((): DecoderGrads => {
    const fw = forward(w, cfg, batch, pk, {
      dropout: opts.training ? cfg.dropout : 0,
      epsilon: opts.epsilon,
      sampling: opts.sampling,
      rng: opts.rng,
    });
    fraction = fw.decisions > 0 ? fw.teacherForced / fw.decisions : 1;
    loss = meanNegLog(targetProbabilities(fw.cache, pk, V));

    // Backpropagation through time. Per step: dLogits_t = (softmax − onehot) / N and dh_t = dLogits_t·W_outᵀ
    // (per-step products instead of one big one: slicing a big tensor per step costs a full copy on wasm).
    // Rows only grow going backwards, so the carried terms are zero-padded.
    const WoutT = tf.transpose(w.W_out);
    const WhT = tf.transpose(w.W_h);
    const dLogits: tf.Tensor[] = new Array<tf.Tensor>(pk.steps);
    const dGates: tf.Tensor[] = new Array<tf.Tensor>(pk.steps);
    let dhNext: tf.Tensor | null = null;
    let dcNext: tf.Tensor | null = null;
    let gateSum: tf.Tensor | null = null; // Σ_t dgates_t per row, for dW_v with injection 'every'
    for (let t = pk.steps - 1; t >= 0; t--) {
      const n = pk.rowsAt[t]!;
      const off = pk.offsetAt[t]!;
      const s = fw.cache[t]!;
      const targets = tf.tensor1d(pk.targets.subarray(off, off + n), 'int32');
      const dl = tf.mul(tf.sub(s.probs, tf.oneHot(targets, V)), 1 / N);
      dLogits[t] = dl;
      let dh: tf.Tensor = tf.matMul(dl, WoutT);
      if (fw.maskH) dh = tf.mul(dh, tf.tensor2d(fw.maskH.subarray(off * H, (off + n) * H), [n, H]));
      if (dhNext) dh = tf.add(dh, padRows(dhNext, n));
      let dc = tf.mul(tf.mul(dh, s.o), tf.sub(1, tf.square(s.tc)));
      if (dcNext) dc = tf.add(dc, padRows(dcNext, n));
      const di = tf.mul(tf.mul(dc, s.g), tf.mul(s.i, tf.sub(1, s.i)));
      const df = s.cPrev ? tf.mul(tf.mul(dc, s.cPrev), tf.mul(s.f, tf.sub(1, s.f))) : tf.zeros([n, H]);
      const dg = tf.mul(tf.mul(dc, s.i), tf.sub(1, tf.square(s.g)));
      const dO = tf.mul(tf.mul(dh, s.tc), tf.mul(s.o, tf.sub(1, s.o)));
      const dg4 = tf.concat([di, df, dg, dO], 1);
      dGates[t] = dg4;
      if (t > 0) {
        dhNext = tf.matMul(dg4, WhT);
        dcNext = tf.mul(dc, s.f);
      }
      if (cfg.injection === 'every') gateSum = gateSum ? tf.add(padRows(gateSum, n), dg4) : dg4;
    }

    // Output layer, all positions at once.
    const dLog = tf.concat(dLogits, 0); // [N, V]
    const dW_out = tf.matMul(tf.transpose(tf.concat(fw.cache.map((s) => s.hd), 0)), dLog);
    const db_out = tf.reshape(tf.matMul(tf.ones([1, N]), dLog), [V]);

    // Gates: d[W_x; W_h; b] = Zᵀ·dG, split into its row blocks in JS (contiguous, one copy).
    const dG = tf.concat(dGates, 0); // [N, 4H]
    const z = tf.concat(fw.cache.map((s) => s.z), 0); // [N, E+H+1]
    const [dW_x, dW_h, db] = splitRows(tf.matMul(tf.transpose(z), dG), [E, H, 1]) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const dInjected = cfg.injection === 'every' ? gateSum! : dGates[0]!;
    const dW_v = tf.matMul(tf.transpose(fw.feats), dInjected);

    // Embedding: dX = dG·W_xᵀ, scatter-added into the rows of the words that were fed.
    const dX = tf.matMul(dG, tf.transpose(w.W_x)).dataSync() as Float32Array; // [N, E]
    const dEmbedding = tf.tensor2d(scatterAddRows(dX, fw.maskX, fw.fed, V, E), [V, E]);

    return { embedding: dEmbedding, W_x: dW_x, W_h: dW_h, W_v: dW_v, b: tf.reshape(db, [4 * H]), W_out: dW_out, b_out: db_out };
  });
  return { loss, tokens: N, grads, teacherForcedFraction: fraction };
}

/** Teacher-forced mean cross-entropy per target token, no dropout. `pk.tokens` must be > 0. */
export function teacherForcedLoss(w: DecoderWeights, cfg: DecoderConfig, batch: CaptionBatch, pk: PackedBatch): number {
  return tf.tidy(() => {
    const fw = forward(w, cfg, batch, pk, { dropout: 0, epsilon: 1, sampling: 'argmax', rng: null });
    return meanNegLog(targetProbabilities(fw.cache, pk, cfg.vocabSize));
  });
}

/** Zero gradients shaped like the weights (for a batch without any target token). */
export function zeroGrads(w: DecoderWeights): DecoderGrads {
  return tf.tidy(() => ({
    embedding: tf.zerosLike(w.embedding),
    W_x: tf.zerosLike(w.W_x),
    W_h: tf.zerosLike(w.W_h),
    W_v: tf.zerosLike(w.W_v),
    b: tf.zerosLike(w.b),
    W_out: tf.zerosLike(w.W_out),
    b_out: tf.zerosLike(w.b_out),
  }));
}

function targetProbabilities(cache: StepCache[], pk: PackedBatch, V: number): Float32Array {
  const picked = cache.map((s, t) => {
    const n = pk.rowsAt[t]!;
    const off = pk.offsetAt[t]!;
    const idx = new Int32Array(n);
    for (let r = 0; r < n; r++) idx[r] = r * V + pk.targets[off + r]!;
    return tf.gather(tf.reshape(s.probs, [-1]), tf.tensor1d(idx, 'int32'));
  });
  return tf.concat(picked, 0).dataSync() as Float32Array;
}

function meanNegLog(ps: Float32Array): number {
  let sum = 0;
  // A probability that underflowed to 0 counts as the smallest float32 (−log ≈ 103.3), not as infinity.
  for (let k = 0; k < ps.length; k++) sum -= Math.log(ps[k]! > 0 ? ps[k]! : 1.4e-45);
  return sum / ps.length;
}

/**
 * An inverted-dropout mask (0 with probability p, else 1/(1−p)). One word of `rng` seeds a mulberry32 stream
 * for the elements: the mask is still a pure function of the rng state, at a fraction of the cost of one
 * xoshiro call per element.
 */
function dropoutMask(size: number, p: number, rng: Rng): Float32Array {
  const mask = new Float32Array(size);
  const keep = 1 / (1 - p);
  const threshold = Math.floor(p * 4294967296);
  let a = rng.nextUint32() | 0;
  for (let k = 0; k < size; k++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    mask[k] = (t ^ (t >>> 14)) >>> 0 < threshold ? 0 : keep;
  }
  return mask;
}

function scatterAddRows(rows: Float32Array, mask: Float32Array | null, ids: Int32Array, V: number, E: number): Float32Array {
  const out = new Float32Array(V * E);
  for (let k = 0; k < ids.length; k++) {
    const dst = ids[k]! * E;
    const src = k * E;
    if (mask) for (let j = 0; j < E; j++) out[dst + j]! += rows[src + j]! * mask[src + j]!;
    else for (let j = 0; j < E; j++) out[dst + j]! += rows[src + j]!;
  }
  return out;
}

/** tanh(x) = 2σ(2x) − 1: wasm's sigmoid kernel is much faster than its tanh. */
function fastTanh(x: tf.Tensor): tf.Tensor {
  return tf.sub(tf.mul(tf.sigmoid(tf.mul(x, 2)), 2), 1);
}

function copyRow(src: Float32Array, from: number, dst: Float32Array, to: number, len: number, scale: number): void {
  if (scale === 1) dst.set(src.subarray(from, from + len), to);
  else for (let j = 0; j < len; j++) dst[to + j] = src[from + j]! * scale;
}

/** Splits a [Σ sizes, C] tensor into row blocks through one read (tf.slice would copy the whole source per block). */
function splitRows(x: tf.Tensor, sizes: number[]): tf.Tensor[] {
  const data = x.dataSync() as Float32Array;
  const cols = x.shape[1]!;
  let row = 0;
  return sizes.map((n) => {
    const block = tf.tensor2d(data.subarray(row * cols, (row + n) * cols), [n, cols]);
    row += n;
    return block;
  });
}

/** The first n rows of a [m, ·] tensor (itself when m = n). */
function takeRows(x: tf.Tensor, n: number): tf.Tensor {
  return x.shape[0] === n ? x : tf.slice(x, [0, 0], [n, x.shape[1]!]);
}

/** A [m, ·] tensor padded with zero rows to n ≥ m rows. */
function padRows(x: tf.Tensor, n: number): tf.Tensor {
  const m = x.shape[0]!;
  return m === n ? x : tf.pad(x, [[0, n - m], [0, 0]]);
}

function argmax(row: Float32Array): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
  return best;
}

function sampleFrom(row: Float32Array, rng: Rng): number {
  let total = 0;
  for (let v = 0; v < row.length; v++) total += row[v]!;
  let u = rng.next() * total;
  let last = 0;
  for (let v = 0; v < row.length; v++) {
    if (row[v]! > 0) {
      last = v;
      u -= row[v]!;
      if (u < 0) return v;
    }
  }
  return last;
}

function rngOrThrow(rng: Rng | null): Rng {
  if (!rng) throw new Error('decoder: sampling needs an rng');
  return rng;
}
