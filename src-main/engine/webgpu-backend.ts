/**
 * The WebGPU backend in Node, on any GPU vendor without CUDA: Dawn's Node binding (npm package `webgpu`, an optional
 * dependency with prebuilt binaries for Linux, macOS and Windows) provides `navigator.gpu`, and
 * @tensorflow/tfjs-backend-webgpu runs on it. The backend registers itself only if `navigator.gpu` exists when it is
 * imported, so the binding is set up first and the backend imported dynamically after.
 *
 * What it needs: on Linux the Vulkan loader (libvulkan.so.1, Debian/Ubuntu package libvulkan1) and the GPU's Vulkan
 * driver; on macOS Metal; on Windows D3D12. A software adapter (SwiftShader, lavapipe: the GPU emulated on the CPU,
 * far slower than wasm) is never picked automatically, only when webgpu is asked for by name.
 * In Node this backend has no synchronous reads (dataSync throws): the trainer uses the device training pass
 * (decoder-train-device.ts) on it, and decoding the asynchronous step (decode.ts `…Async`, captionFeaturesAsync).
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';

/** The adapter WebGPU would run on. */
export interface WebGpuAdapterInfo {
  readonly vendor: string;
  readonly architecture: string;
  readonly description: string;
  /** A software (CPU-emulated) adapter. */
  readonly software: boolean;
}

/** Why WebGPU cannot run here, or the adapter it found. */
export type WebGpuProbe = { readonly ok: true; readonly adapter: WebGpuAdapterInfo } | { readonly ok: false; readonly reason: string };

interface GpuLike {
  requestAdapter(options?: object): Promise<AdapterLike | null>;
}
interface AdapterLike {
  readonly info?: { vendor?: string; architecture?: string; description?: string; device?: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
}

/** Where Linux distributions put the Vulkan loader. */
const VULKAN_LOADER_PATHS = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib64/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1',
  '/usr/local/lib/libvulkan.so.1',
];

/** Optional packages, imported by computed names so that a checkout without them still type-checks and bundles. */
const WEBGPU_PACKAGE: string = 'webgpu';
const TFJS_WEBGPU_PACKAGE: string = '@tensorflow/tfjs-backend-webgpu';

let gpu: GpuLike | null = null;

/** Creates navigator.gpu from the `webgpu` package once; the reason when it cannot. */
async function navigatorGpu(): Promise<GpuLike | string> {
  if (gpu) return gpu;
  if (process.platform === 'linux' && !VULKAN_LOADER_PATHS.some((p) => existsSync(p)) && !process.env.LD_LIBRARY_PATH) {
    return 'the Vulkan loader libvulkan.so.1 is not installed (Debian/Ubuntu: apt-get install libvulkan1, plus the GPU\'s Vulkan driver)';
  }
  let mod: { create: (options: string[]) => GpuLike; globals: Record<string, unknown> };
  try {
    mod = (await import(/* @vite-ignore */ WEBGPU_PACKAGE)) as typeof mod;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return 'package webgpu not installed';
    return `package webgpu failed to load: ${(err as Error).message.split('\n')[0]}`;
  }
  Object.assign(globalThis, mod.globals);
  gpu = mod.create([]);
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (nav && typeof nav === 'object' && !('gpu' in nav && nav.gpu)) {
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  } else if (!nav) {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
  return gpu;
}

/** Looks for a WebGPU adapter (without starting the tfjs backend). */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  const g = await navigatorGpu();
  if (typeof g === 'string') return { ok: false, reason: g };
  const adapter = await g.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) {
    return {
      ok: false,
      reason: process.platform === 'linux' ? 'no WebGPU adapter (no GPU with a Vulkan driver found)' : 'no WebGPU adapter (no GPU found)',
    };
  }
  const info = adapter.info ?? {};
  const software = info.isFallbackAdapter === true || adapter.isFallbackAdapter === true || /swiftshader|llvmpipe|lavapipe/i.test(`${info.architecture} ${info.description} ${info.device}`);
  return {
    ok: true,
    adapter: {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      description: info.description ?? info.device ?? '',
      software,
    },
  };
}

/** A short name of the adapter, e.g. "nvidia ampere" or "google swiftshader (software)". */
export function describeAdapter(a: WebGpuAdapterInfo): string {
  const name = [a.vendor, a.architecture].filter(Boolean).join(' ') || a.description || 'unknown adapter';
  return a.software ? `${name} (software)` : name;
}

/**
 * Starts the tfjs webgpu backend; null on success or the reason it cannot. `allowSoftware` (webgpu asked for by
 * name) accepts a software adapter, which the automatic choice refuses.
 */
export async function startWebGpu(allowSoftware: boolean): Promise<{ error: string } | { adapter: WebGpuAdapterInfo }> {
  const probe = await probeWebGpu();
  if (!probe.ok) return { error: probe.reason };
  if (probe.adapter.software && !allowSoftware) {
    return { error: `only a software adapter (${describeAdapter(probe.adapter)}), slower than wasm; not picked automatically (name the webgpu backend to use it anyway)` };
  }
  if (!tf.findBackendFactory('webgpu')) await import(/* @vite-ignore */ TFJS_WEBGPU_PACKAGE);
  if (!tf.findBackendFactory('webgpu')) return { error: 'package @tensorflow/tfjs-backend-webgpu did not register the webgpu backend' };
  return (await tf.setBackend('webgpu')) ? { adapter: probe.adapter } : { error: "the 'webgpu' backend did not start" };
}

/** Whether the running backend can read tensors synchronously (webgpu in Node cannot). */
export function hasSyncReads(): boolean {
  return tf.getBackend() !== 'webgpu';
}
