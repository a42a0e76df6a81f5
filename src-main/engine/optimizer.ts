/**
 * Adam with a savable state, and gradient clipping by global norm. Written with plain element-wise tfjs ops (no
 * tf.train optimizer) so the moments can be checkpointed and restored exactly and the learning rate can change
 * every step without rebuilding anything. On wasm the update runs as one SIMD kernel over a copy of each
 * parameter instead (kernels/update-kernels.ts: the same float32 results in about half the time), and the norm as
 * one JavaScript pass over the gradients' memory.
 */
import * as tf from '@tensorflow/tfjs';
import { allocateKernelMemory, updateKernels, type UpdateKernels } from './kernels/update-kernels.ts';
import type { AdamConfig } from './train-config.ts';
import { heapValues } from './wasm-lstm.ts';

/** Adam's state: the step count and the first and second moments, one pair per parameter name. */
export interface AdamState {
  readonly step: number;
  readonly m: Readonly<Record<string, tf.Tensor>>;
  readonly v: Readonly<Record<string, tf.Tensor>>;
}

/**
 * Adam (Kingma & Ba 2015): m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², θ ← θ − lr·m̂ / (√v̂ + ε) with the
 * bias-corrected m̂ = m / (1−β1^t), v̂ = v / (1−β2^t). Owns its moment variables: call `dispose()`.
 */
export class Adam {
  private t = 0;
  private readonly m: Record<string, tf.Variable> = {};
  private readonly v: Record<string, tf.Variable> = {};
  /** wasm: the update kernel and its memory (room for one parameter's p, g, m and v), made on first use. */
  private kernels: UpdateKernels | null = null;

  constructor(
    private readonly params: Readonly<Record<string, tf.Variable>>,
    private readonly config: AdamConfig,
  ) {
    for (const [name, p] of Object.entries(params)) {
      // tidy disposes the zeros and keeps the variables.
      this.m[name] = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
      this.v[name] = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
    }
  }

  /** Steps taken so far. */
  get step(): number {
    return this.t;
  }

  /**
   * One update of every parameter named in `grads` with step size `lr`, the gradients first multiplied by `scale`
   * (a global-norm clip: `clipScale`). The grads are not disposed.
   */
  apply(grads: Readonly<Record<string, tf.Tensor>>, lr: number, scale = 1): void {
    for (const name of Object.keys(grads)) if (!this.params[name]) throw new Error(`Adam: gradient for unknown parameter "${name}"`);
    this.t += 1;
    if (tf.getBackend() === 'wasm') this.applyInMemory(grads, lr, scale);
    else this.applyWithOps(grads, lr, scale);
  }

  /**
   * wasm: each parameter's p, g, m and v are copied into the kernel's memory, updated there, and copied back as
   * new tensors (never in place: a tensor's data may be shared with a clone, and the matMul weight cache is keyed
   * by the data).
   */
  private applyInMemory(grads: Readonly<Record<string, tf.Tensor>>, lr: number, scale: number): void {
    const k = (this.kernels ??= updateKernels(allocateKernelMemory(4 * Math.max(...Object.values(this.params).map((p) => p.size)) * 4, 'Adam')));
    for (const [name, g] of Object.entries(grads)) {
      const p = this.params[name]!;
      const m = this.m[name]!;
      const v = this.v[name]!;
      const n = p.size;
      const part = (i: number): Float32Array => new Float32Array(k.memory.buffer, i * n * 4, n);
      const [P, G, M, V] = [part(0), part(1), part(2), part(3)];
      // Views of the tensors are taken right before use (making a tensor may move the wasm backend's memory).
      P.set(heapValues(p));
      G.set(heapValues(g));
      M.set(heapValues(m));
      V.set(heapValues(v));
      k.adam(P.byteOffset, G.byteOffset, M.byteOffset, V.byteOffset, n, { config: this.config, lr, step: this.t, scale });
      tf.tidy(() => {
        p.assign(tf.tensor(P, p.shape));
        m.assign(tf.tensor(M, m.shape));
        v.assign(tf.tensor(V, v.shape));
      });
    }
  }

  private applyWithOps(grads: Readonly<Record<string, tf.Tensor>>, lr: number, scale: number): void {
    const { beta1, beta2, epsilon } = this.config;
    const c1 = 1 - Math.pow(beta1, this.t);
    const c2 = 1 - Math.pow(beta2, this.t);
    tf.tidy(() => {
      for (const [name, unscaled] of Object.entries(grads)) {
        const p = this.params[name]!;
        const m = this.m[name]!;
        const v = this.v[name]!;
        const g = scale === 1 ? unscaled : tf.mul(unscaled, scale);
        const m1 = tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1));
        const v1 = tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2));
        m.assign(m1);
        v.assign(v1);
        const update = tf.div(tf.div(m1, c1), tf.add(tf.sqrt(tf.div(v1, c2)), epsilon));
        p.assign(tf.sub(p, tf.mul(update, lr)));
      }
    });
  }

  /** The current state; the tensors are the optimizer's own (do not dispose them, copy them if kept). */
  state(): AdamState {
    return { step: this.t, m: { ...this.m }, v: { ...this.v } };
  }

  /** Restores a saved state (shapes must match the parameters'); the given tensors are copied, not kept. */
  load(state: AdamState): void {
    for (const name of Object.keys(this.params)) {
      const m = state.m[name];
      const v = state.v[name];
      if (!m || !v) throw new Error(`Adam state: missing moments for parameter "${name}"`);
      const own = this.m[name]!;
      if (!tf.util.arraysEqual(m.shape, own.shape) || !tf.util.arraysEqual(v.shape, own.shape)) {
        throw new Error(`Adam state: "${name}" has shape [${m.shape}], parameter has [${own.shape}]`);
      }
      own.assign(m);
      this.v[name]!.assign(v);
    }
    this.t = state.step;
  }

  dispose(): void {
    for (const x of [...Object.values(this.m), ...Object.values(this.v)]) x.dispose();
  }
}

/** The factor that clips a gradient of global norm `norm` to at most `clipNorm` (0 or Infinity: no clipping). */
export function clipScale(norm: number, clipNorm: number): number {
  return clipNorm > 0 && norm > clipNorm ? clipNorm / norm : 1;
}

/** The global L2 norm √(Σ‖g‖²) of the gradients (on wasm summed in float64 over their memory). */
export function globalNorm(grads: Readonly<Record<string, tf.Tensor>>): number {
  if (tf.getBackend() === 'wasm') {
    let sum = 0;
    for (const g of Object.values(grads)) {
      const x = heapValues(g);
      for (let k = 0; k < x.length; k++) sum += x[k]! * x[k]!;
    }
    return Math.sqrt(sum);
  }
  const sq = globalNormSquared(grads);
  const norm = Math.sqrt(sq.dataSync()[0]!);
  sq.dispose();
  return norm;
}

/** `globalNorm` for backends without synchronous reads (webgpu): read asynchronously. */
export async function globalNormAsync(grads: Readonly<Record<string, tf.Tensor>>): Promise<number> {
  const sq = globalNormSquared(grads);
  const norm = Math.sqrt((await sq.data())[0]!);
  sq.dispose();
  return norm;
}

/**
 * Rescales gradients so that their global L2 norm √(Σ‖g‖²) is at most `clipNorm` (0 or Infinity: no clipping).
 * Returns new tensors (the caller disposes them and still owns the inputs) and the norm before clipping.
 */
export function clipByGlobalNorm<K extends string>(
  grads: Readonly<Record<K, tf.Tensor>>,
  clipNorm: number,
): { grads: Record<K, tf.Tensor>; norm: number } {
  const sq = globalNormSquared(grads);
  const norm = Math.sqrt(sq.dataSync()[0]!);
  sq.dispose();
  return { grads: rescaleToNorm(grads, norm, clipNorm), norm };
}

/** `clipByGlobalNorm` for backends without synchronous reads (webgpu): the norm is read asynchronously. */
export async function clipByGlobalNormAsync<K extends string>(
  grads: Readonly<Record<K, tf.Tensor>>,
  clipNorm: number,
): Promise<{ grads: Record<K, tf.Tensor>; norm: number }> {
  const sq = globalNormSquared(grads);
  const norm = Math.sqrt((await sq.data())[0]!);
  sq.dispose();
  return { grads: rescaleToNorm(grads, norm, clipNorm), norm };
}

/** Σ‖g‖² over every gradient, as a scalar tensor the caller disposes. */
function globalNormSquared(grads: Readonly<Record<string, tf.Tensor>>): tf.Tensor {
  return tf.tidy(() => tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g)))));
}

/** New tensors: the gradients times min(1, clipNorm / norm) (clipNorm 0: unchanged copies). */
function rescaleToNorm<K extends string>(grads: Readonly<Record<K, tf.Tensor>>, norm: number, clipNorm: number): Record<K, tf.Tensor> {
  const scale = clipScale(norm, clipNorm);
  const out = {} as Record<K, tf.Tensor>;
  for (const [name, g] of Object.entries(grads) as [K, tf.Tensor][]) out[name] = scale === 1 ? tf.clone(g) : tf.tidy(() => tf.mul(g, scale));
  return out;
}
