/**
 * The WebAssembly SIMD update kernels (engine/kernels): the committed bytes are the assembled .wat; Adam equals the
 * tensor-op formulation bit for bit (lanes and the scalar tail, with and without a clip scale); the reduction and
 * the float64 sum of squares against plain JavaScript; the Adam class gives the same bits through the kernel (wasm)
 * as through tensor ops.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import { assembleKernels } from '../../src-main/engine/kernels/build-kernels.ts';
import { allocateKernelMemory, updateKernels } from '../../src-main/engine/kernels/update-kernels.ts';
import { UPDATE_KERNELS_WASM_BASE64 } from '../../src-main/engine/kernels/update-kernels.wasm.ts';
import { Adam } from '../../src-main/engine/optimizer.ts';
import { Rng } from '../../src-main/util/rng.ts';

const CONFIG = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

function randomArray(n: number, rng: Rng, scale: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() - 0.5) * scale);
}

/** The same step as tensor ops (optimizer.ts's formulation, on the cpu backend's float32 kernels). */
function adamWithOps(p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, t: number, scale: number): { p: Float32Array; m: Float32Array; v: Float32Array } {
  return tf.tidy(() => {
    const gs = tf.mul(tf.tensor1d(g), scale);
    const m1 = tf.add(tf.mul(tf.tensor1d(m), CONFIG.beta1), tf.mul(gs, 1 - CONFIG.beta1));
    const v1 = tf.add(tf.mul(tf.tensor1d(v), CONFIG.beta2), tf.mul(tf.square(gs), 1 - CONFIG.beta2));
    const update = tf.div(tf.div(m1, 1 - Math.pow(CONFIG.beta1, t)), tf.add(tf.sqrt(tf.div(v1, 1 - Math.pow(CONFIG.beta2, t))), CONFIG.epsilon));
    const p1 = tf.sub(tf.tensor1d(p), tf.mul(update, lr));
    return { p: p1.dataSync() as Float32Array, m: m1.dataSync() as Float32Array, v: v1.dataSync() as Float32Array };
  });
}

describe('update kernels', () => {
  it('the committed module is update-kernels.wat assembled (npm run build:kernels)', async () => {
    expect(Buffer.from(await assembleKernels('update-kernels')).toString('base64')).toBe(UPDATE_KERNELS_WASM_BASE64);
  });

  it('Adam equals the tensor-op formulation bit for bit, SIMD lanes and scalar tail, several steps, with a clip scale', () => {
    const n = 4 * 257 + 3; // a tail of 3 elements after the 4-lane loop
    const rng = new Rng(11);
    const k = updateKernels(allocateKernelMemory(4 * n * 4, 'test'));
    const view = (i: number): Float32Array => new Float32Array(k.memory.buffer, i * n * 4, n);
    const [P, G, M, V] = [view(0), view(1), view(2), view(3)];
    P.set(randomArray(n, rng, 2));
    let expected: { p: Float32Array; m: Float32Array; v: Float32Array } = { p: P.slice(), m: new Float32Array(n), v: new Float32Array(n) };
    for (let t = 1; t <= 4; t++) {
      const g = randomArray(n, rng, t === 2 ? 1e-6 : 1); // tiny gradients too
      g[5] = 0;
      G.set(g);
      const scale = t % 2 === 0 ? 0.3 : 1;
      const lr = 1e-3 * t;
      expected = adamWithOps(expected.p, g, expected.m, expected.v, lr, t, scale);
      k.adam(P.byteOffset, G.byteOffset, M.byteOffset, V.byteOffset, n, { config: CONFIG, lr, step: t, scale });
      expect(Array.from(P)).toEqual(Array.from(expected.p));
      expect(Array.from(M)).toEqual(Array.from(expected.m));
      expect(Array.from(V)).toEqual(Array.from(expected.v));
      expect(Array.from(G)).toEqual(Array.from(g)); // the gradient is only read
    }
  });

  it('adds slots in float32 and sums squares in float64, with tails, over exactly n elements', () => {
    const n = 4 * 100 + 2;
    const rng = new Rng(5);
    const k = updateKernels(allocateKernelMemory(3 * n * 4, 'test'));
    const a = new Float32Array(k.memory.buffer, 0, n);
    const b = new Float32Array(k.memory.buffer, n * 4, n);
    const after = new Float32Array(k.memory.buffer, 2 * n * 4, n);
    a.set(randomArray(n, rng, 10));
    b.set(randomArray(n, rng, 1e-3));
    after.fill(7);
    const sum = Float32Array.from(a, (x, i) => x + b[i]!);
    k.addInto(a.byteOffset, b.byteOffset, n);
    expect(Array.from(a)).toEqual(Array.from(sum));
    expect(after.every((x) => x === 7)).toBe(true);
    let squares = 0;
    for (const x of a) squares += x * x;
    expect(k.sumOfSquares(a.byteOffset, n)).toBeCloseTo(squares, 9);
    expect(k.sumOfSquares(a.byteOffset, 3)).toBe(a[0]! ** 2 + a[1]! ** 2 + a[2]! ** 2);
  });

  it('refuses a memory larger than WebAssembly allows, naming what asked for it', () => {
    expect(() => allocateKernelMemory(5 * 2 ** 30, 'train pool of 64 workers')).toThrow(/train pool of 64 workers: needs 5\.0 GiB .* use fewer workers/);
  });

  it('the Adam class gives the same bits through the kernel (wasm) as through tensor ops (cpu), without leaking', async () => {
    const rng = new Rng(3);
    const init = randomArray(1001, rng, 1);
    const grads = [1, 2, 3].map(() => randomArray(1001, rng, 1));
    const run = (): Float32Array => {
      const w = tf.tidy(() => tf.variable(tf.tensor2d(init, [7, 143])));
      const adam = new Adam({ w }, CONFIG);
      for (const [i, g] of grads.entries()) {
        const gt = tf.tensor2d(g, [7, 143]);
        adam.apply({ w: gt }, 1e-2, i === 1 ? 0.5 : 1);
        gt.dispose();
      }
      const out = w.dataSync().slice() as Float32Array;
      adam.dispose();
      w.dispose();
      return out;
    };
    const before = tf.memory().numTensors;
    const onWasm = run();
    expect(tf.memory().numTensors).toBe(before);
    await initBackend({ prefer: 'cpu' });
    try {
      expect(Array.from(onWasm)).toEqual(Array.from(run()));
    } finally {
      await initBackend({ prefer: 'wasm' });
    }
  });
});
