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
 * Backward: per step dLogits_t = (p_t − onehot(target_t)) / tokens and dh_t = dLogits_t·W_outᵀ feed BPTT; then all
 * steps at once: d[W_x; W_h; b] = Zᵀ·dG, dW_out = Hdᵀ·dLogits, db_out = 1ᵀ·dLogits, dX = dG·W_xᵀ.
 * The wasm workarounds (per-gate weight blocks with the g gate pre-scaled, tanh through σ, row taking / padding /
 * splitting without tf.slice, embedding lookup and scatter-add in JS, the output layer's gradient and the sampled
 * words read from the probabilities in place) live in wasm-lstm.ts; the cell's backward step and the transposes run
 * as kernels where they can (kernels/lstm-kernels.ts).
 * RNG order: dropout masks, then the coins, then the samples step by step.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../util/rng.ts';
import { lstmKernels, type LstmKernels } from './kernels/lstm-kernels.ts';
import type { PackedBatch } from './decoder-batch.ts';
import { drawPerRow } from './example-randomness.ts';
import { END, type CaptionBatch, type DecoderConfig, type DecoderGrads, type DecoderWeights } from './model-types.ts';
import { copyOf, embedRows, fastTanh, gateWeights, heapValues, injectedTerms, lstmGates, padRows, scatterAddRows, softmaxCrossEntropyGradient, splitRows, takeRows } from './wasm-lstm.ts';

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
  /** One generator per batch row (original order): each row then draws its own masks, coins and samples and `rng` is unused (example-randomness.ts). */
  readonly rowRngs?: readonly Rng[];
  /** Divides the summed cross-entropy in the gradients (default: this batch's token count); a shard passes its whole mini-batch's. */
  readonly gradientTokens?: number;
  /**
   * false: the cell's backward step, the transposes and the transposed products (the gates, the image term) as
   * plain tensor ops even where the kernels can run (for comparing the two).
   */
  readonly fusedCell?: boolean;
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
  readonly rowRngs?: readonly Rng[];
  /** The kernels (lstm-kernels.ts) the pass may use, or null for tensor ops only. */
  readonly kernels: LstmKernels | null;
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
  // 2. Coins: 1 = feed the true previous word. Position t = 0 always gets <start>.
  let teacher: Uint8Array = new Uint8Array(N).fill(1);
  let decisions = 0;
  let teacherForced = 0;
  if (mode.rowRngs) ({ maskX, maskH, teacher, decisions, teacherForced } = drawPerRow(pk, mode.rowRngs, { E, H, dropout: p, epsilon: mode.epsilon }, dropoutMask));
  else if (p > 0) {
    if (!rng) throw new Error('decoder: dropout needs an rng');
    maskX = dropoutMask(N * E, p, rng);
    maskH = dropoutMask(N * H, p, rng);
  }
  // 2. Coins (without per-row generators; see drawPerRow for the rule). A position whose target is <end> always
  //    gets the true last word.
  for (let t = 1; t < pk.steps && !mode.rowRngs; t++) {
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
  const injected = injectedTerms(feats, w, H, mode.kernels);
  const gates = gateWeights(w, E, H, mode.kernels);
  const emb = copyOf(w.embedding, 'embedding');

  const cache: StepCache[] = [];
  let h: tf.Tensor | null = null;
  let c: tf.Tensor | null = null;
  for (let t = 0; t < pk.steps; t++) {
    const n = pk.rowsAt[t]!;
    const off = pk.offsetAt[t]!;
    const x = embedRows(emb, fed, off, n, E, maskX);
    const hPrev: tf.Tensor = h === null ? tf.zeros([n, H]) : takeRows(h, n);
    const cPrev: tf.Tensor | null = c === null ? null : takeRows(c, n);
    const z: tf.Tensor = tf.concat([x, hPrev, tf.ones([n, 1])], 1);
    // i, f, g, o = σ, σ, tanh, σ (z·[W_x; W_h; b] + v·W_v where the image enters)
    const inject = cfg.injection === 'every' || t === 0;
    const { i, f, g, o } = lstmGates(z, gates, inject ? (j) => injected(j, n) : null);
    // c_t = f ⊙ c_{t−1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)
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
      // Only the rows that feed their own word are read back (a quarter of them at ε = 0.75).
      const own: number[] = [];
      for (let r = 0; r < nNext; r++) if (!teacher[offNext + r]) own.push(r);
      if (own.length > 0) {
        // Read in place (wasm: a view of its memory, valid while no tensor is made; elsewhere a copy).
        const data = heapValues(probs);
        for (const r of own) {
          const row = data.subarray(r * cfg.vocabSize, (r + 1) * cfg.vocabSize);
          fed[offNext + r] = mode.sampling === 'argmax' ? argmax(row) : sampleFrom(row, rngOrThrow(mode.rowRngs?.[pk.order[r]!] ?? rng));
        }
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
  // The cell's element-wise backward step, the transposes and the transposed products as kernels where they can run, else tensor ops.
  const fusedCell = opts.fusedCell === false ? null : lstmKernels(H);
  const grads = tf.tidy((): DecoderGrads => {
    const fw = forward(w, cfg, batch, pk, {
      dropout: opts.training ? cfg.dropout : 0,
      epsilon: opts.epsilon,
      sampling: opts.sampling,
      rng: opts.rng,
      ...(opts.rowRngs ? { rowRngs: opts.rowRngs } : {}),
      kernels: fusedCell,
    });
    fraction = fw.decisions > 0 ? fw.teacherForced / fw.decisions : 1;
    loss = meanNegLog(targetProbabilities(fw.cache, pk, V));

    // Backpropagation through time. Per step: dLogits_t = (softmax − onehot) / N and dh_t = dLogits_t·W_outᵀ
    // (per-step products instead of one big one: slicing a big tensor per step costs a full copy on wasm).
    // Rows only grow going backwards, so the carried terms are zero-padded.
    const transpose = (x: tf.Tensor): tf.Tensor => (fusedCell ? fusedCell.transpose(x) : tf.transpose(x));
    const WoutT = transpose(w.W_out);
    const WhT = transpose(w.W_h);
    const dLogits: tf.Tensor[] = new Array<tf.Tensor>(pk.steps);
    const dGates: tf.Tensor[] = new Array<tf.Tensor>(pk.steps);
    let dhNext: tf.Tensor | null = null;
    let dcNext: tf.Tensor | null = null;
    let gateSum: tf.Tensor | null = null; // Σ_t dgates_t per row, for dW_v with injection 'every'
    for (let t = pk.steps - 1; t >= 0; t--) {
      const n = pk.rowsAt[t]!;
      const off = pk.offsetAt[t]!;
      const s = fw.cache[t]!;
      const dl = softmaxCrossEntropyGradient(s.probs, pk.targets.subarray(off, off + n), 1 / (opts.gradientTokens ?? N));
      dLogits[t] = dl;
      const dhOut: tf.Tensor = tf.matMul(dl, WoutT);
      const mask = fw.maskH ? tf.tensor2d(fw.maskH.subarray(off * H, (off + n) * H), [n, H]) : null;
      let dg4: tf.Tensor;
      let dcPrev: tf.Tensor | null = null;
      if (fusedCell) ({ dg4, dcPrev } = fusedCell.backwardStep({ dhOut, mask, dhNext, dcNext, i: s.i, f: s.f, g: s.g, o: s.o, tc: s.tc, cPrev: s.cPrev, wantDc: t > 0 }));
      else {
        let dh = mask ? tf.mul(dhOut, mask) : dhOut;
        if (dhNext) dh = tf.add(dh, padRows(dhNext, n));
        let dc = tf.mul(tf.mul(dh, s.o), tf.sub(1, tf.square(s.tc)));
        if (dcNext) dc = tf.add(dc, padRows(dcNext, n));
        const di = tf.mul(tf.mul(dc, s.g), tf.mul(s.i, tf.sub(1, s.i)));
        const df = s.cPrev ? tf.mul(tf.mul(dc, s.cPrev), tf.mul(s.f, tf.sub(1, s.f))) : tf.zeros([n, H]);
        const dg = tf.mul(tf.mul(dc, s.i), tf.sub(1, tf.square(s.g)));
        const dO = tf.mul(tf.mul(dh, s.tc), tf.mul(s.o, tf.sub(1, s.o)));
        dg4 = tf.concat([di, df, dg, dO], 1);
        if (t > 0) dcPrev = tf.mul(dc, s.f);
      }
      dGates[t] = dg4;
      if (t > 0) {
        dhNext = tf.matMul(dg4, WhT);
        dcNext = dcPrev;
      }
      if (cfg.injection === 'every') gateSum = gateSum ? tf.add(padRows(gateSum, n), dg4) : dg4;
    }

    // Output layer, all positions at once.
    const dLog = tf.concat(dLogits, 0); // [N, V]
    const dW_out = tf.matMul(transpose(tf.concat(fw.cache.map((s) => s.hd), 0)), dLog);
    const db_out = tf.reshape(tf.matMul(tf.ones([1, N]), dLog), [V]);

    // Gates: d[W_x; W_h; b] = Zᵀ·dG, split into its row blocks in JS (contiguous, one copy).
    const dG = tf.concat(dGates, 0); // [N, 4H]
    const z = tf.concat(fw.cache.map((s) => s.z), 0); // [N, E+H+1]
    const [dW_x, dW_h, db] = splitRows(tf.matMul(transpose(z), dG), [E, H, 1]) as [tf.Tensor, tf.Tensor, tf.Tensor];
    const dInjected = cfg.injection === 'every' ? gateSum! : dGates[0]!;
    const dW_v = tf.matMul(transpose(fw.feats), dInjected);

    // Embedding: dX = dG·W_xᵀ, scatter-added into the rows of the words that were fed.
    const dX = copyOf(tf.matMul(dG, transpose(w.W_x)), 'embedding input gradient'); // [N, E]
    const dEmbedding = tf.tensor2d(scatterAddRows(dX, fw.maskX, fw.fed, V, E), [V, E]);

    return { embedding: dEmbedding, W_x: dW_x, W_h: dW_h, W_v: dW_v, b: tf.reshape(db, [4 * H]), W_out: dW_out, b_out: db_out };
  });
  return { loss, tokens: N, grads, teacherForcedFraction: fraction };
}

/** Teacher-forced mean cross-entropy per target token, no dropout. `pk.tokens` must be > 0. */
export function teacherForcedLoss(w: DecoderWeights, cfg: DecoderConfig, batch: CaptionBatch, pk: PackedBatch): number {
  return tf.tidy(() => {
    const fw = forward(w, cfg, batch, pk, { dropout: 0, epsilon: 1, sampling: 'argmax', rng: null, kernels: lstmKernels(cfg.hiddenDim) });
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
  const out = new Float32Array(pk.tokens);
  cache.forEach((s, t) => {
    const off = pk.offsetAt[t]!;
    const probs = heapValues(s.probs); // read in place: no tensor is made in this loop
    for (let r = 0; r < pk.rowsAt[t]!; r++) out[off + r] = probs[r * V + pk.targets[off + r]!]!;
  });
  return out;
}

function meanNegLog(ps: Float32Array): number {
  let sum = 0;
  // A probability that underflowed to 0 counts as the smallest float32 (−log ≈ 103.3), not as infinity.
  for (let k = 0; k < ps.length; k++) sum -= Math.log(ps[k]! > 0 ? ps[k]! : 1.4e-45);
  return sum / ps.length;
}

/**
 * An inverted-dropout mask (0 with probability p, else 1/(1−p)), written into the first `size` elements of `into`
 * when given (no allocation). One word of `rng` seeds a mulberry32 stream for the elements: the mask is still a pure
 * function of the rng state, at a fraction of the cost of one xoshiro call per element.
 */
export function dropoutMask(size: number, p: number, rng: Rng, into?: Float32Array): Float32Array {
  const mask = into ? into.subarray(0, size) : new Float32Array(size);
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

export function argmax(row: Float32Array): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
  return best;
}

export function sampleFrom(row: Float32Array, rng: Rng): number {
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
