/**
 * Picks the TensorFlow.js backend the whole process runs on, once, and says why.
 *
 * Order tried with 'auto': tensorflow-gpu (@tensorflow/tfjs-node-gpu, CUDA) → webgpu (any GPU vendor through the
 * optional `webgpu` package, hardware adapters only; webgpu-backend.ts) → tensorflow (@tensorflow/tfjs-node) → wasm
 * (@tensorflow/tfjs-backend-wasm, SIMD when the runtime has it; training uses one worker per core) → cpu (plain JS,
 * ~20× slower than wasm).
 * The choice comes from, first to last: the `prefer` option (the CLI's `--backend`), the environment variable
 * `CAPTION_STUDIO_BACKEND`, else 'auto'. A named backend that cannot start is an error, never a silent fallback.
 * The two tfjs-node packages are optional dependencies and are imported dynamically; both register the tfjs
 * backend named 'tensorflow'.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { describeAdapter, startWebGpu, type WebGpuAdapterInfo } from './webgpu-backend.ts';

import { BACKEND_NAMES, type BackendName, type BackendPreference } from './backend-names.ts';

export { BACKEND_NAMES, type BackendName, type BackendPreference };

/** The environment variable that names a backend when no option does. */
export const BACKEND_ENV_VAR = 'CAPTION_STUDIO_BACKEND';

export interface BackendOptions {
  /** A backend to use, or 'auto'; when absent or 'auto' the environment variable may still name one. */
  readonly prefer?: BackendPreference;
  /** Environment to read `CAPTION_STUDIO_BACKEND` from (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * The process only trains (the CLI's `train`): 'auto' may then pick webgpu. Otherwise 'auto' passes webgpu over,
   * saying so: decoding has an asynchronous path for it (captionFeaturesAsync), but `eval` still decodes
   * synchronously and feature extraction on webgpu is untested.
   */
  readonly forTraining?: boolean;
}

/** What runs, and what was passed over on the way. */
export interface BackendReport {
  /** The backend now running. */
  readonly backend: BackendName;
  /** The name tfjs itself gives it (`tf.getBackend()`): 'tensorflow', 'wasm' or 'cpu'. */
  readonly tfjsBackend: string;
  /** What was asked for, and by whom. */
  readonly requested: BackendPreference;
  readonly requestedBy: 'option' | 'env' | 'default';
  /** Faster backends that were tried or ruled out first, each with the reason. */
  readonly skipped: readonly { readonly backend: BackendName; readonly reason: string }[];
  /** Set for wasm: which binary runs (SIMD or not), whether threads are on, where the .wasm files came from. */
  readonly wasm?: { readonly simd: boolean; readonly threads: boolean; readonly threadsCount: number; readonly dir: string };
  /** Set for webgpu: the adapter it runs on. */
  readonly webgpu?: WebGpuAdapterInfo;
  /** tfjs-core version. */
  readonly tfjsVersion: string;
}

let current: BackendReport | null = null;
let pending: { key: BackendPreference; promise: Promise<BackendReport> } | null = null;

/**
 * Starts the chosen backend (see the module comment for the order) and returns a report. Idempotent: a second
 * call asking for the same thing returns the first report; asking for a different backend switches to it.
 */
export async function initBackend(opts: BackendOptions = {}): Promise<BackendReport> {
  const { requested, requestedBy } = resolvePreference(opts);
  if (current && current.requested === requested && tf.getBackend() === current.tfjsBackend) return current;
  if (pending && pending.key === requested) return pending.promise;
  const promise = start(requested, requestedBy, opts.forTraining ?? false);
  pending = { key: requested, promise };
  try {
    current = await promise;
    return current;
  } finally {
    if (pending?.promise === promise) pending = null;
  }
}

/** The report of the backend started by `initBackend`, or null before it has run. */
export function currentBackend(): BackendReport | null {
  return current;
}

/** The one-line summary the CLI and the app print, e.g. "wasm (SIMD, 1 thread; tensorflow: package … not installed)". */
export function describeBackend(report: BackendReport): string {
  const parts: string[] = [];
  if (report.webgpu) parts.push(`adapter ${describeAdapter(report.webgpu)}`);
  if (report.wasm) parts.push(`${report.wasm.simd ? 'SIMD' : 'no SIMD'}, ${report.wasm.threadsCount} thread${report.wasm.threadsCount === 1 ? '' : 's'}`);
  for (const s of report.skipped) parts.push(`${s.backend}: ${s.reason}`);
  return parts.length ? `${report.backend} (${parts.join('; ')})` : report.backend;
}

/**
 * The directory holding tfjs-backend-wasm's `.wasm` binaries, with a trailing separator. Resolved from
 * node_modules; a bundled Electron main process can set `CAPTION_STUDIO_WASM_DIR` instead (e.g. to a folder in
 * app resources), which is the only other place this is decided.
 */
export function resolveWasmDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const override = env.CAPTION_STUDIO_WASM_DIR;
  if (override) return override.endsWith(path.sep) || override.endsWith('/') ? override : override + path.sep;
  const require = createRequire(import.meta.url);
  const file = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
  return path.dirname(file) + path.sep;
}

function resolvePreference(opts: BackendOptions): { requested: BackendPreference; requestedBy: BackendReport['requestedBy'] } {
  if (opts.prefer !== undefined && opts.prefer !== 'auto') {
    return { requested: parsePreference(opts.prefer, 'option prefer'), requestedBy: 'option' };
  }
  const fromEnv = (opts.env ?? process.env)[BACKEND_ENV_VAR]?.trim();
  if (fromEnv) return { requested: parsePreference(fromEnv, BACKEND_ENV_VAR), requestedBy: 'env' };
  return { requested: 'auto', requestedBy: opts.prefer === 'auto' ? 'option' : 'default' };
}

/** Checks a backend name from the user; throws naming where it came from and the valid names. */
export function parsePreference(value: string, source = 'backend'): BackendPreference {
  const v = value.toLowerCase();
  if (v === 'auto' || (BACKEND_NAMES as readonly string[]).includes(v)) return v as BackendPreference;
  throw new Error(`${source}: unknown backend "${value}" (expected auto, ${BACKEND_NAMES.join(', ')})`);
}

async function start(requested: BackendPreference, requestedBy: BackendReport['requestedBy'], forTraining: boolean): Promise<BackendReport> {
  const candidates: readonly BackendName[] = requested === 'auto' ? BACKEND_NAMES : [requested];
  const skipped: { backend: BackendName; reason: string }[] = [];
  for (const backend of candidates) {
    let adapter: WebGpuAdapterInfo | undefined;
    const failure =
      backend !== 'webgpu'
        ? await tryStart(backend)
        : requested === 'auto' && !forTraining
          ? 'not picked for captioning: its decoding step reads synchronously, which WebGPU in Node cannot (training can use it)'
          : await startWebGpu(requested === 'webgpu').then((r) => ('error' in r ? r.error : ((adapter = r.adapter), null)), firstLine);
    if (failure === null) {
      return {
        backend,
        tfjsBackend: tf.getBackend(),
        requested,
        requestedBy,
        skipped,
        ...(backend === 'wasm' ? { wasm: await wasmInfo() } : {}),
        ...(adapter ? { webgpu: adapter } : {}),
        tfjsVersion: tf.version_core,
      };
    }
    if (requested !== 'auto') throw new Error(`backend ${backend} (asked for by ${requestedBy === 'env' ? BACKEND_ENV_VAR : 'option'}) cannot start: ${failure}`);
    skipped.push({ backend, reason: failure });
  }
  throw new Error(`no tfjs backend could start: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`);
}

/** Starts one backend (webgpu: see webgpu-backend.ts); returns null on success or the reason it could not start. */
async function tryStart(backend: Exclude<BackendName, 'webgpu'>): Promise<string | null> {
  try {
    switch (backend) {
      case 'tensorflow-gpu':
      case 'tensorflow': {
        const pkg = backend === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
        const missing = await importOptional(pkg);
        if (missing) return missing;
        return (await tf.setBackend('tensorflow')) ? null : `package ${pkg} loaded but the 'tensorflow' backend did not start`;
      }
      case 'wasm': {
        setWasmPathsOnce(resolveWasmDir());
        return (await tf.setBackend('wasm')) ? null : 'the wasm backend did not start';
      }
      case 'cpu':
        return (await tf.setBackend('cpu')) ? null : 'the cpu backend did not start';
    }
  } catch (err) {
    return firstLine(err);
  }
}

/** Imports an optional package by a computed name (so bundlers leave it alone); null when it loaded. */
export async function importOptional(pkg: string): Promise<string | null> {
  try {
    await import(/* @vite-ignore */ pkg);
    return null;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const message = firstLine(err);
    if ((code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && message.includes(pkg)) {
      return `package ${pkg} not installed`;
    }
    return `package ${pkg} failed to load: ${pkg === '@tensorflow/tfjs-node-gpu' ? cudaHint(message) : message}`;
  }
}

let wasmDirSet: string | null = null;
function setWasmPathsOnce(dir: string): void {
  // setWasmPaths throws once the wasm backend has been initialised; the paths only matter before that.
  if (wasmDirSet !== null || tf.findBackend('wasm') !== null) return;
  setWasmPaths(dir);
  wasmDirSet = dir;
}

async function wasmInfo(): Promise<NonNullable<BackendReport['wasm']>> {
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const threads = (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) === true;
  const backend = tf.backend() as unknown as { wasm?: { tfjs?: { getThreadsCount?: () => number } } };
  const threadsCount = backend.wasm?.tfjs?.getThreadsCount?.() ?? 1;
  return { simd, threads, threadsCount, dir: wasmDirSet ?? resolveWasmDir() };
}

/**
 * What tfjs-node-gpu's load failure means: the shared library it wanted (e.g. libcudart.so.11.0) and the one CUDA
 * setup its TensorFlow 2.9 binary runs on.
 */
export function cudaHint(message: string): string {
  const lib = /(lib[\w+-]+(?:\.[\w+-]+)*\.so(?:\.\d+)*|[\w+-]+\.dll|lib[\w+-]+(?:\.[\w+-]+)*\.dylib)/.exec(message)?.[1];
  const needs = 'tfjs-node-gpu 4.22 needs exactly CUDA 11.2 and cuDNN 8.1 (other CUDA versions, e.g. 12, do not load it)';
  return lib ? `it wanted ${lib}, which could not be loaded; ${needs}` : `${message}; ${needs}`;
}

export function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : typeof err === 'object' && err !== null && 'message' in err ? String((err as { message: unknown }).message) : String(err);
  return text.split('\n')[0]!.trim();
}
