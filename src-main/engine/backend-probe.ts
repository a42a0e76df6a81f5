/**
 * Every backend Caption Studio knows, each usable or not with the reason, for `caption-studio info --backends` and
 * Settings. Probing loads the optional packages it finds (tfjs-node registers its backend) but never switches the
 * running backend.
 */
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BACKEND_NAMES, importOptional, resolveWasmDir, type BackendName } from './backend.ts';
import { describeAdapter, probeWebGpu } from './webgpu-backend.ts';

export interface BackendAvailability {
  readonly backend: BackendName;
  /** 'yes': the automatic choice may take it; 'by-name': only when asked for by name; 'no': cannot start here. */
  readonly usable: 'yes' | 'by-name' | 'no';
  /** Why (not), in one line. */
  readonly reason: string;
}

/** Checks every backend in the automatic order. */
export async function probeBackends(): Promise<BackendAvailability[]> {
  const out: BackendAvailability[] = [];
  for (const backend of BACKEND_NAMES) out.push({ backend, ...(await probe(backend)) });
  return out;
}

async function probe(backend: BackendName): Promise<Omit<BackendAvailability, 'backend'>> {
  switch (backend) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      const pkg = backend === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      const failure = await importOptional(pkg);
      if (failure) return { usable: 'no', reason: failure };
      return { usable: 'yes', reason: `package ${pkg} loads${backend === 'tensorflow-gpu' ? ' (CUDA 11.2 + cuDNN 8.1)' : ' (native TensorFlow on the CPU)'}` };
    }
    case 'webgpu': {
      const p = await probeWebGpu().catch((err: unknown) => ({ ok: false as const, reason: (err as Error).message.split('\n')[0]! }));
      if (!p.ok) return { usable: 'no', reason: p.reason };
      if (p.adapter.software) {
        return { usable: 'by-name', reason: `only a software adapter, ${describeAdapter(p.adapter)}: slower than wasm, never picked automatically` };
      }
      return { usable: 'yes', reason: `adapter ${describeAdapter(p.adapter)}` };
    }
    case 'wasm': {
      const dir = resolveWasmDir();
      if (!existsSync(path.join(dir, 'tfjs-backend-wasm-simd.wasm')) && !existsSync(path.join(dir, 'tfjs-backend-wasm.wasm'))) {
        return { usable: 'no', reason: `no tfjs-backend-wasm binaries in ${dir}` };
      }
      const cores = availableParallelism();
      return { usable: 'yes', reason: `WebAssembly${cores > 1 ? `; training runs ${cores} worker threads (one per core)` : ''}` };
    }
    case 'cpu':
      return { usable: 'yes', reason: 'plain JavaScript, about 20× slower than wasm' };
  }
}
