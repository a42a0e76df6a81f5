import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import {
  countDecoderParameters,
  createStepModel,
  disposeDecoderWeights,
  evaluateLoss,
  initDecoderWeights,
  lossAndGradients,
} from '../../src-main/engine/decoder.ts';
import {
  DECODER_WEIGHT_NAMES,
  END,
  PAD,
  START,
  type CaptionBatch,
  type DecoderConfig,
  type DecoderGrads,
  type DecoderWeights,
  type Injection,
} from '../../src-main/engine/model-types.ts';
import { Rng } from '../../src-main/util/rng.ts';

const SMALL: DecoderConfig = { vocabSize: 11, embedDim: 5, hiddenDim: 6, featureDim: 4, injection: 'every', dropout: 0 };

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

function batchOf(rows: number[][], features: tf.Tensor2D): CaptionBatch {
  const L = Math.max(...rows.map((r) => r.length));
  const tokens = new Int32Array(rows.length * L);
  rows.forEach((r, b) => tokens.set(r, b * L));
  return { features, tokens, batchSize: rows.length, length: L };
}

function randomFeatures(rows: number, F: number, seed: number): tf.Tensor2D {
  const rng = new Rng(seed);
  return tf.tensor2d(Float32Array.from({ length: rows * F }, () => rng.next() * 2 - 1), [rows, F]);
}

/** Rows of different lengths: one runs to the end without <end>, one ends at once, padding after <end>. */
const ROWS = [
  [START, 4, 5, 6, END, PAD, PAD],
  [START, 7, 8, 9, 10, 4, 5],
  [START, END, PAD, PAD, PAD, PAD, PAD],
  [START, 9, END, PAD, PAD, PAD, PAD],
];

/** Which (row, step) pairs count, worked out independently of the decoder: targets up to the first <end>. */
function referenceMask(rows: number[][]): number[][] {
  return rows.map((r) => {
    const m: number[] = [];
    let ended = false;
    for (let t = 0; t + 1 < r.length; t++) {
      const target = r[t + 1]!;
      m.push(!ended && target !== PAD ? 1 : 0);
      if (target === END) ended = true;
    }
    return m;
  });
}

/** A plain forward pass with standard ops (one-hot embedding: gather has no gradient on wasm), for autodiff. */
function referenceLoss(w: DecoderWeights, cfg: DecoderConfig, rows: number[][], features: tf.Tensor2D): tf.Scalar {
  const { vocabSize: V, hiddenDim: H } = cfg;
  const B = rows.length;
  const T = rows[0]!.length - 1;
  const mask = referenceMask(rows);
  const count = mask.flat().reduce((a, b) => a + b, 0);
  let h: tf.Tensor = tf.zeros([B, H]);
  let c: tf.Tensor = tf.zeros([B, H]);
  const vW = tf.matMul(features, w.W_v);
  let total: tf.Tensor = tf.scalar(0);
  for (let t = 0; t < T; t++) {
    const input = tf.oneHot(tf.tensor1d(rows.map((r) => r[t]!), 'int32'), V).toFloat();
    const x = tf.matMul(input, w.embedding);
    let gates = tf.add(tf.add(tf.matMul(x, w.W_x), tf.matMul(h, w.W_h)), w.b);
    if (cfg.injection === 'every' || t === 0) gates = tf.add(gates, vW);
    const i = tf.sigmoid(gates.slice([0, 0], [B, H]));
    const f = tf.sigmoid(gates.slice([0, H], [B, H]));
    const g = tf.tanh(gates.slice([0, 2 * H], [B, H]));
    const o = tf.sigmoid(gates.slice([0, 3 * H], [B, H]));
    c = tf.add(tf.mul(f, c), tf.mul(i, g));
    h = tf.mul(o, tf.tanh(c));
    const logp = tf.logSoftmax(tf.add(tf.matMul(h, w.W_out), w.b_out));
    const target = tf.oneHot(tf.tensor1d(rows.map((r) => r[t + 1]!), 'int32'), V).toFloat();
    const nll = tf.neg(tf.sum(tf.mul(logp, target), 1));
    total = tf.add(total, tf.sum(tf.mul(nll, tf.tensor1d(mask.map((m) => m[t]!)))));
  }
  return tf.div(total, count) as tf.Scalar;
}

function expectClose(actual: tf.Tensor, expected: tf.Tensor, rel = 1e-4): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.dataSync();
  const e = expected.dataSync();
  let scale = 0;
  for (const v of e) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k]! - e[k]!));
  expect(worst).toBeLessThanOrEqual(rel * scale + 1e-7);
}

function disposeGrads(g: DecoderGrads): void {
  for (const name of DECODER_WEIGHT_NAMES) g[name].dispose();
}

const teacher = (seed = 1) => ({ epsilon: 1, sampling: 'argmax' as const, training: false, rng: new Rng(seed) });

describe('decoder weights', () => {
  it('counts V·E + (E+H+F+1)·4H + (H+1)·V parameters and shapes them so', () => {
    // 11·5 + (5+6+4+1)·24 + (6+1)·11 = 55 + 384 + 77
    expect(countDecoderParameters(SMALL)).toBe(516);
    const w = initDecoderWeights(SMALL, 3);
    expect(w.embedding.shape).toEqual([11, 5]);
    expect(w.W_x.shape).toEqual([5, 24]);
    expect(w.W_h.shape).toEqual([6, 24]);
    expect(w.W_v.shape).toEqual([4, 24]);
    expect(w.W_out.shape).toEqual([6, 11]);
    expect(Array.from(w.b.dataSync())).toEqual([...Array(6).fill(0), ...Array(6).fill(1), ...Array(12).fill(0)]);
    expect(Math.max(...Array.from(w.W_h.dataSync()).map(Math.abs))).toBeLessThanOrEqual(0.08);
    const again = initDecoderWeights(SMALL, 3);
    expect(Array.from(again.W_out.dataSync())).toEqual(Array.from(w.W_out.dataSync()));
    disposeDecoderWeights(w);
    disposeDecoderWeights(again);
  });
});

describe('gradients', () => {
  for (const injection of ['every', 'init'] as Injection[]) {
    it(`equal tfjs autodiff of a plain forward pass (injection '${injection}', padded rows)`, () => {
      const cfg = { ...SMALL, injection };
      const w = initDecoderWeights(cfg, 7);
      // Larger weights than the init give gradients that are far from zero everywhere.
      for (const name of DECODER_WEIGHT_NAMES) w[name].assign(tf.mul(w[name], 6));
      const features = randomFeatures(ROWS.length, cfg.featureDim, 11);
      const ours = lossAndGradients(w, cfg, batchOf(ROWS, features), teacher());
      const ref = tf.variableGrads(() => referenceLoss(w, cfg, ROWS, features), DECODER_WEIGHT_NAMES.map((n) => w[n]));
      expect(ours.tokens).toBe(4 + 6 + 1 + 2);
      expect(ours.loss).toBeCloseTo(ref.value.dataSync()[0]!, 5);
      for (const name of DECODER_WEIGHT_NAMES) expectClose(ours.grads[name], ref.grads[w[name].name]!);
      expect(evaluateLoss(w, cfg, batchOf(ROWS, features)).loss).toBeCloseTo(ours.loss, 6);
      disposeGrads(ours.grads);
      tf.dispose([ref.value, ...Object.values(ref.grads), features]);
      disposeDecoderWeights(w);
    });
  }

  it('match central finite differences of the loss, dropout on (fixed rng)', () => {
    const cfg = { ...SMALL, dropout: 0.3 };
    const w = initDecoderWeights(cfg, 5);
    for (const name of DECODER_WEIGHT_NAMES) w[name].assign(tf.mul(w[name], 6));
    const features = randomFeatures(ROWS.length, cfg.featureDim, 2);
    const batch = batchOf(ROWS, features);
    const opts = () => ({ epsilon: 1, sampling: 'sample' as const, training: true, rng: new Rng(99) });
    const ours = lossAndGradients(w, cfg, batch, opts());
    const lossAt = (): number => {
      const r = lossAndGradients(w, cfg, batch, opts());
      disposeGrads(r.grads);
      return r.loss;
    };
    const probe = new Rng(4);
    const h = 5e-3;
    for (const name of DECODER_WEIGHT_NAMES) {
      const grad = ours.grads[name].dataSync();
      // The embedding rows of words never fed have zero gradient; probe one that is fed (word 9) and random spots.
      const spots = name === 'embedding' ? [9 * cfg.embedDim + 2] : [probe.int(grad.length), probe.int(grad.length)];
      for (const k of spots) {
        const base = w[name].dataSync().slice();
        const plus = base.slice();
        plus[k] = base[k]! + h;
        w[name].assign(tf.tensor(plus, w[name].shape));
        const up = lossAt();
        const minus = base.slice();
        minus[k] = base[k]! - h;
        w[name].assign(tf.tensor(minus, w[name].shape));
        const down = lossAt();
        w[name].assign(tf.tensor(base, w[name].shape));
        const fd = (up - down) / (2 * h);
        expect(Math.abs(fd - grad[k]!)).toBeLessThan(2e-3 + 0.02 * Math.abs(fd));
      }
    }
    disposeGrads(ours.grads);
    features.dispose();
    disposeDecoderWeights(w);
  });

  it('ignore whatever follows <end>, and rows without any target', () => {
    const w = initDecoderWeights(SMALL, 8);
    const features = randomFeatures(5, SMALL.featureDim, 3);
    const padded = [...ROWS, [START, PAD, PAD, PAD, PAD, PAD, PAD]];
    const scribbled = padded.map((r) => {
      const end = r.indexOf(END);
      return end < 0 ? r : r.map((id, t) => (t > end ? 3 + ((t * 5 + id) % 8) : id));
    });
    scribbled[4] = [START, PAD, 6, 7, END, 8, 9];
    const a = lossAndGradients(w, SMALL, batchOf(padded, features), teacher());
    const b = lossAndGradients(w, SMALL, batchOf(scribbled, features), teacher());
    const four = features.slice([0, 0], [4, SMALL.featureDim]);
    const c = lossAndGradients(w, SMALL, batchOf(ROWS, four), teacher());
    expect(b.loss).toBe(a.loss);
    expect(a.tokens).toBe(13);
    expect(c.loss).toBeCloseTo(a.loss, 6);
    for (const name of DECODER_WEIGHT_NAMES) {
      expect(Array.from(b.grads[name].dataSync())).toEqual(Array.from(a.grads[name].dataSync()));
      expectClose(c.grads[name], a.grads[name], 1e-5);
    }
    [a, b, c].forEach((r) => disposeGrads(r.grads));
    tf.dispose([features, four]);
    disposeDecoderWeights(w);
  });

  it('refuse malformed batches with a one-line message', () => {
    const w = initDecoderWeights(SMALL, 1);
    const features = randomFeatures(2, SMALL.featureDim, 1);
    expect(() => lossAndGradients(w, SMALL, { features, tokens: new Int32Array(5), batchSize: 2, length: 3 }, teacher())).toThrow(
      /tokens has 5 entries, expected batchSize×length = 2×3 = 6/,
    );
    expect(() => lossAndGradients(w, SMALL, batchOf([[START, 11], [START, END]], features), teacher())).toThrow(
      /token id 11 at row 0, position 1 is outside the vocabulary \[0, 11\)/,
    );
    expect(() => lossAndGradients(w, SMALL, batchOf([[START, END]], features), teacher())).toThrow(/features have shape \[2,4\], expected \[1,4\]/);
    features.dispose();
    disposeDecoderWeights(w);
  });
});

describe('step model', () => {
  it('gives log-probabilities whose rows sum to 1, and select picks rows', () => {
    const w = initDecoderWeights(SMALL, 2);
    const features = randomFeatures(3, SMALL.featureDim, 5);
    const model = createStepModel(w, SMALL, features);
    expect(model.rows).toBe(3);
    expect(model.vocabSize).toBe(11);
    const s0 = model.initialState();
    const { logProbs, state: s1 } = model.step(new Int32Array([START, START, START]), s0);
    expect(logProbs.length).toBe(3 * 11);
    expect(s1.h.shape).toEqual([3, 6]);
    for (let r = 0; r < 3; r++) {
      const sum = Array.from(logProbs.subarray(r * 11, (r + 1) * 11)).reduce((a, lp) => a + Math.exp(lp), 0);
      expect(sum).toBeCloseTo(1, 5);
    }
    const picked = model.select(s1, new Int32Array([2, 2, 0, 1]));
    const next = model.step(new Int32Array([5, 5, 6, 7]), picked);
    const direct = model.step(new Int32Array([6, 7, 5]), s1);
    expect(next.logProbs.length).toBe(4 * 11);
    expect(Array.from(next.logProbs.subarray(0, 11))).toEqual(Array.from(next.logProbs.subarray(11, 22)));
    expect(Array.from(next.logProbs.subarray(0, 11))).toEqual(Array.from(direct.logProbs.subarray(22, 33)));
    expect(Array.from(next.logProbs.subarray(22, 33))).toEqual(Array.from(direct.logProbs.subarray(0, 11)));
    expect(() => model.step(new Int32Array([1, 2]), s1)).toThrow(/got 2 tokens for a state of 3 rows/);
    [s0, s1, picked, next.state, direct.state].forEach((s) => model.dispose(s));
    features.dispose();
    disposeDecoderWeights(w);
  });

  it("with injection 'init' sees the image only at the first step", () => {
    const cfg = { ...SMALL, injection: 'init' as const };
    const w = initDecoderWeights(cfg, 2);
    const fa = randomFeatures(1, cfg.featureDim, 5);
    const fb = randomFeatures(1, cfg.featureDim, 6);
    const run = (features: tf.Tensor2D) => {
      const m = createStepModel(w, cfg, features);
      const s0 = m.initialState();
      const a = m.step(new Int32Array([START]), s0);
      expect(a.state.inject).toBeNull();
      const zeroState = { h: tf.zerosLike(a.state.h), c: tf.zerosLike(a.state.c), inject: null };
      const b = m.step(new Int32Array([4]), zeroState);
      [s0, a.state, zeroState, b.state].forEach((s) => m.dispose(s));
      return [a.logProbs, b.logProbs] as const;
    };
    const [a0, a1] = run(fa);
    const [b0, b1] = run(fb);
    expect(Array.from(a0)).not.toEqual(Array.from(b0));
    expect(Array.from(a1)).toEqual(Array.from(b1));
    tf.dispose([fa, fb]);
    disposeDecoderWeights(w);
  });
});

describe('scheduled sampling', () => {
  it('with ε = 0 and argmax feeds the model its own argmax, except the true last word before <end> (same loss as a step-model rollout)', () => {
    const w = initDecoderWeights(SMALL, 21);
    for (const name of DECODER_WEIGHT_NAMES) w[name].assign(tf.mul(w[name], 10));
    const features = randomFeatures(ROWS.length, SMALL.featureDim, 8);
    const ours = lossAndGradients(w, SMALL, batchOf(ROWS, features), { epsilon: 0, sampling: 'argmax', training: false, rng: new Rng(1) });
    const forced = evaluateLoss(w, SMALL, batchOf(ROWS, features));
    expect(ours.teacherForcedFraction).toBe(0);

    const model = createStepModel(w, SMALL, features);
    const mask = referenceMask(ROWS);
    let state = model.initialState();
    let input = new Int32Array(ROWS.map((r) => r[0]!));
    let sum = 0;
    for (let t = 0; t + 1 < ROWS[0]!.length; t++) {
      const out = model.step(input, state);
      model.dispose(state);
      state = out.state;
      input = new Int32Array(ROWS.length);
      ROWS.forEach((r, b) => {
        const row = out.logProbs.subarray(b * 11, (b + 1) * 11);
        if (mask[b]![t]) sum -= row[r[t + 1]!]!;
        // The step whose target is <end> is fed the caption's own last word: <end> is right only after it.
        input[b] = r[t + 2] === END ? r[t + 1]! : row.indexOf(Math.max(...row));
      });
    }
    model.dispose(state);
    expect(ours.loss).toBeCloseTo(sum / ours.tokens, 4);
    expect(Math.abs(ours.loss - forced.loss)).toBeGreaterThan(1e-3);
    disposeGrads(ours.grads);
    features.dispose();
    disposeDecoderWeights(w);
  });

  it('with ε = 1 is teacher forcing; the same rng seed gives the same result; ε of the positions are forced', () => {
    const cfg = { ...SMALL, dropout: 0.25 };
    const w = initDecoderWeights(cfg, 4);
    const features = randomFeatures(ROWS.length, cfg.featureDim, 9);
    const batch = batchOf(ROWS, features);
    const one = lossAndGradients(w, cfg, batch, { epsilon: 1, sampling: 'sample', training: false, rng: new Rng(3) });
    expect(one.loss).toBeCloseTo(evaluateLoss(w, cfg, batch).loss, 6);
    expect(one.teacherForcedFraction).toBe(1);

    const opts = (seed: number) => ({ epsilon: 0.5, sampling: 'sample' as const, training: true, rng: new Rng(seed) });
    const a = lossAndGradients(w, cfg, batch, opts(42));
    const b = lossAndGradients(w, cfg, batch, opts(42));
    const c = lossAndGradients(w, cfg, batch, opts(43));
    expect(b.loss).toBe(a.loss);
    for (const name of DECODER_WEIGHT_NAMES) expect(Array.from(b.grads[name].dataSync())).toEqual(Array.from(a.grads[name].dataSync()));
    expect(c.loss).not.toBe(a.loss);

    const long = randomFeatures(64, cfg.featureDim, 10);
    const rng = new Rng(5);
    const rows = Array.from({ length: 64 }, () => [START, ...Array.from({ length: 15 }, () => 4 + rng.int(7)), END]);
    const big = lossAndGradients(w, cfg, batchOf(rows, long), { epsilon: 0.7, sampling: 'sample', training: true, rng: new Rng(6) });
    // 64·15 coin flips at ε = 0.7 (the 64 steps before <end> are always forced and flip no coin): σ ≈ 0.015.
    expect(big.teacherForcedFraction).toBeGreaterThan(0.64);
    expect(big.teacherForcedFraction).toBeLessThan(0.76);
    [one, a, b, c, big].forEach((r) => disposeGrads(r.grads));
    tf.dispose([features, long]);
    disposeDecoderWeights(w);
  });
});

describe('training', () => {
  it('overfits four captions with Adam and greedy decoding reproduces them', () => {
    const cfg: DecoderConfig = { vocabSize: 14, embedDim: 16, hiddenDim: 32, featureDim: 8, injection: 'every', dropout: 0 };
    const captions = [
      [START, 4, 5, 6, 7, END],
      [START, 4, 8, 9, END],
      [START, 10, 11, 6, 12, 13, END],
      [START, 10, 5, 13, END],
    ];
    const L = 7;
    const rows = captions.map((c) => [...c, ...Array(L - c.length).fill(PAD)]);
    const w = initDecoderWeights(cfg, 12);
    const features = randomFeatures(4, cfg.featureDim, 13);
    const batch = batchOf(rows, features);
    const adam = tf.train.adam(0.03);
    let loss = Infinity;
    for (let i = 0; i < 150; i++) {
      const r = lossAndGradients(w, cfg, batch, teacher(i));
      loss = r.loss;
      adam.applyGradients(DECODER_WEIGHT_NAMES.map((name) => ({ name: w[name].name, tensor: r.grads[name] })));
      disposeGrads(r.grads);
    }
    expect(loss).toBeLessThan(0.02);

    const model = createStepModel(w, cfg, features);
    let state = model.initialState();
    let input = new Int32Array(4).fill(START);
    const out: number[][] = [[START], [START], [START], [START]];
    for (let t = 0; t < L - 1; t++) {
      const s = model.step(input, state);
      model.dispose(state);
      state = s.state;
      input = new Int32Array(4);
      for (let b = 0; b < 4; b++) {
        const row = s.logProbs.subarray(b * 14, (b + 1) * 14);
        input[b] = row.indexOf(Math.max(...row));
        if (out[b]!.at(-1) !== END) out[b]!.push(input[b]!);
      }
    }
    model.dispose(state);
    expect(out).toEqual(captions);
    adam.dispose();
    features.dispose();
    disposeDecoderWeights(w);
  });

  it('leaks no tensors over 20 training passes and 20 steps', () => {
    const cfg = { ...SMALL, dropout: 0.2 };
    const w = initDecoderWeights(cfg, 1);
    const features = randomFeatures(ROWS.length, cfg.featureDim, 1);
    const batch = batchOf(ROWS, features);
    const rng = new Rng(2);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      const r = lossAndGradients(w, cfg, batch, { epsilon: i % 3 === 0 ? 1 : 0.5, sampling: i % 2 ? 'sample' : 'argmax', training: true, rng });
      disposeGrads(r.grads);
      evaluateLoss(w, cfg, batch);
    }
    expect(tf.memory().numTensors).toBe(before);
    const model = createStepModel(w, cfg, features);
    let state = model.initialState();
    for (let i = 0; i < 20; i++) {
      const s = model.step(new Int32Array(ROWS.length).fill(4), state);
      const picked = model.select(s.state, new Int32Array([0, 1, 2, 3]));
      model.dispose(state);
      model.dispose(s.state);
      state = picked;
    }
    model.dispose(state);
    expect(tf.memory().numTensors).toBe(before);
    features.dispose();
    disposeDecoderWeights(w);
  });
});
