/**
 * The LSTM cell's backward step fused into one WebAssembly SIMD kernel, and a 4×4-block transpose, (lstm-kernels.wat) that reads and writes the
 * tensors where they are, in tfjs-backend-wasm's own memory: one call instead of ~30 element-wise tensor ops per
 * step of backpropagation through time (each op costs ~10 µs of dispatch besides its work), with the same float32
 * results bit for bit. Where it cannot run — another backend, a wasm build whose memory is not reachable or is
 * shared (the threaded build), a hidden size not a multiple of 4 — `lstmKernels` gives null and the caller keeps
 * the tensor ops.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { LSTM_KERNELS_WASM_BASE64 } from './lstm-kernels.wasm.ts';

/** One backward step's inputs: [n, H] tensors, the carried terms of the next step [m, H] with m ≤ n. */
export interface LstmBackwardStep {
  /** dL/dh_t from the output layer (dLogits·W_outᵀ). */
  readonly dhOut: tf.Tensor;
  /** The dropout mask of h_t, or null. */
  readonly mask: tf.Tensor | null;
  /** dL/dh_t and dL/dc_t carried back from step t+1 (its rows are the first m of this step's), or null at the last step. */
  readonly dhNext: tf.Tensor | null;
  readonly dcNext: tf.Tensor | null;
  /** The forward step's gates, tanh(c_t) and c_{t−1} (null at t = 0). */
  readonly i: tf.Tensor;
  readonly f: tf.Tensor;
  readonly g: tf.Tensor;
  readonly o: tf.Tensor;
  readonly tc: tf.Tensor;
  readonly cPrev: tf.Tensor | null;
  /** Whether dL/dc_{t−1} = dc ⊙ f is wanted (not at t = 0). */
  readonly wantDc: boolean;
}

export interface LstmKernels {
  /** dG = [di | df | dg | dO] as [n, 4H], and dc ⊙ f as [n, H] when wanted (new tensors, tracked like any op's). */
  backwardStep(x: LstmBackwardStep): { dg4: tf.Tensor; dcPrev: tf.Tensor | null };
  /** xᵀ of a 2-D float32 tensor, as a new tensor (a plain copy of the elements: the same values as tf.transpose). */
  transpose(x: tf.Tensor): tf.Tensor;
  /** Rows first … first+count−1 of a 2-D float32 tensor [R, C], transposed: a new [C, count] tensor (no slice made). */
  transposeRows(x: tf.Tensor, first: number, count: number): tf.Tensor;
}

interface KernelExports {
  lstmBackward(...args: number[]): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
}

let compiled: WebAssembly.Module | null = null;
const instances = new WeakMap<WebAssembly.Memory, KernelExports>();

/** The kernels for hidden size H on the running backend, or null where they cannot run (see the module comment). */
export function lstmKernels(H: number): LstmKernels | null {
  if (tf.getBackend() !== 'wasm' || H % 4 !== 0) return null;
  const backend = tf.backend() as BackendWasm;
  const memory = (backend.wasm as unknown as { asm?: { memory?: unknown } }).asm?.memory;
  if (!(memory instanceof WebAssembly.Memory) || memory.buffer instanceof SharedArrayBuffer) return null;
  let exports = instances.get(memory);
  if (!exports) {
    compiled ??= new WebAssembly.Module(Buffer.from(LSTM_KERNELS_WASM_BASE64, 'base64'));
    exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as KernelExports;
    instances.set(memory, exports);
  }
  const kernel = exports;
  const engine = tf.engine();
  const output = (shape: number[]): tf.Tensor => engine.makeTensorFromTensorInfo(backend.makeOutput(shape, 'float32'));
  const at = (t: tf.Tensor | null): number => (t === null ? 0 : backend.typedArrayFromHeap(t).byteOffset);
  return {
    backwardStep(x) {
      const [n, h] = x.dhOut.shape as [number, number];
      const m = x.dhNext?.shape[0] ?? 0;
      if (h !== H || (x.dcNext?.shape[0] ?? 0) !== m || m > n) throw new Error(`lstm kernel: dh [${n}, ${h}] with carried terms of ${m} rows (H = ${H})`);
      const dg4 = output([n, 4 * H]);
      const dcPrev = x.wantDc ? output([n, H]) : null;
      kernel.lstmBackward(n, m, H, at(x.dhOut), at(x.mask), at(x.dhNext), at(x.dcNext), at(x.o), at(x.tc), at(x.i), at(x.f), at(x.g), at(x.cPrev), at(dg4), at(dcPrev));
      return { dg4, dcPrev };
    },
    transpose(x) {
      return this.transposeRows(x, 0, x.shape[0] ?? 0);
    },
    transposeRows(x, first, count) {
      if (x.rank !== 2 || x.dtype !== 'float32') throw new Error(`lstm kernel: transpose of a ${x.rank}-D ${x.dtype} tensor`);
      const [rows, cols] = x.shape as [number, number];
      if (!Number.isInteger(first) || !Number.isInteger(count) || first < 0 || count < 0 || first + count > rows) {
        throw new Error(`lstm kernel: rows ${first} … ${first + count - 1} of a [${rows}, ${cols}] tensor`);
      }
      const out = output([cols, count]);
      kernel.transpose(at(x) + 4 * first * cols, at(out), count, cols);
      return out;
    },
  };
}
