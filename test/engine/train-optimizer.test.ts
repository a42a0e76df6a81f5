import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import { Adam, clipByGlobalNorm } from '../../src-main/engine/optimizer.ts';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('clipByGlobalNorm', () => {
  it('rescales to exactly clipNorm when the global norm is above it', () => {
    const before = tf.memory().numTensors;
    // Global norm of {a: [3, 4], b: [12]} is √(9 + 16 + 144) = 13.
    const a = tf.tensor1d([3, 4]);
    const b = tf.tensor1d([12]);
    const { grads, norm } = clipByGlobalNorm({ a, b }, 6.5);
    expect(norm).toBeCloseTo(13, 5);
    expect(Array.from(grads.a.dataSync())).toEqual([1.5, 2]);
    expect(Array.from(grads.b.dataSync())).toEqual([6]);
    const after = clipByGlobalNorm(grads, 100);
    expect(after.norm).toBeCloseTo(6.5, 5);
    tf.dispose([a, b, grads.a, grads.b, after.grads.a, after.grads.b]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('leaves gradients below the threshold (or with clipping off) unchanged', () => {
    const a = tf.tensor1d([3, 4]);
    const small = clipByGlobalNorm({ a }, 10);
    expect(Array.from(small.grads.a.dataSync())).toEqual([3, 4]);
    const off = clipByGlobalNorm({ a }, 0);
    expect(off.norm).toBeCloseTo(5, 6);
    expect(Array.from(off.grads.a.dataSync())).toEqual([3, 4]);
    tf.dispose([a, small.grads.a, off.grads.a]);
  });
});

describe('Adam', () => {
  it('takes the hand-computed steps', () => {
    const before = tf.memory().numTensors;
    const w = tf.tidy(() => tf.variable(tf.tensor1d([1, -2])));
    const adam = new Adam({ w }, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const g1 = tf.tensor1d([0.5, -4]);
    adam.apply({ w: g1 }, 0.1);
    // Step 1: m̂ = g, v̂ = g², so the update is lr·g/(|g| + ε) = ±0.1.
    const w1 = w.dataSync();
    expect(w1[0]).toBeCloseTo(0.9, 6);
    expect(w1[1]).toBeCloseTo(-1.9, 6);
    // Step 2 with g = [1, 0]: m = [0.9·0.05 + 0.1, 0.9·(−0.4)] = [0.145, −0.36],
    // v = [0.999·0.00025 + 0.001, 0.999·0.016] = [0.00124975, 0.015984];
    // m̂ = m / 0.19, v̂ = v / 0.001999.
    const g2 = tf.tensor1d([1, 0]);
    adam.apply({ w: g2 }, 0.1);
    const mhat = [0.145 / 0.19, -0.36 / 0.19];
    const vhat = [0.00124975 / 0.001999, 0.015984 / 0.001999];
    const w2 = w.dataSync();
    expect(w2[0]).toBeCloseTo(0.9 - (0.1 * mhat[0]!) / Math.sqrt(vhat[0]!), 5);
    expect(w2[1]).toBeCloseTo(-1.9 - (0.1 * mhat[1]!) / Math.sqrt(vhat[1]!), 5);
    expect(adam.step).toBe(2);
    const s = adam.state();
    expect(Array.from(s.m.w!.dataSync()).map((x) => +x.toFixed(6))).toEqual([0.145, -0.36]);
    tf.dispose([g1, g2]);
    adam.dispose();
    w.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('restores a saved state so that the next steps are identical', () => {
    const w = tf.variable(tf.tensor1d([1, 2, 3]));
    const adam = new Adam({ w }, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const g = tf.tensor1d([0.3, -0.2, 0.1]);
    adam.apply({ w: g }, 0.01);
    const saved = { step: adam.step, m: { w: adam.state().m.w!.clone() }, v: { w: adam.state().v.w!.clone() } };
    const wSaved = w.clone();
    adam.apply({ w: g }, 0.01);
    const expected = Array.from(w.dataSync());

    const w2 = tf.variable(wSaved);
    const adam2 = new Adam({ w: w2 }, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    adam2.load(saved);
    adam2.apply({ w: g }, 0.01);
    expect(Array.from(w2.dataSync())).toEqual(expected);
    expect(() => adam2.load({ step: 1, m: {}, v: {} })).toThrow(/missing moments for parameter "w"/);
    tf.dispose([g, wSaved, saved.m.w, saved.v.w, w, w2]);
    adam.dispose();
    adam2.dispose();
  });
});
