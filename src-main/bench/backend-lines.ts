/**
 * The train suite's lines for the backends other than the one the bench runs on (`npm run bench -- --only train`):
 * one line each. A backend the automatic choice may take (a CUDA build, a hardware WebGPU adapter, native
 * TensorFlow) is timed with the trainer's one-thread step; every other one gets a line saying why it is not timed —
 * a software WebGPU adapter (SwiftShader, lavapipe: the GPU emulated on the CPU) is never timed, as it is never
 * picked automatically; the plain JavaScript backend is not timed either (about 20× slower than wasm).
 */
import type { BackendAvailability } from '../engine/backend-probe.ts';
import type { BackendName } from '../engine/backend.ts';

/** A timed backend's figures (from the caller's timing function). */
export interface BackendTiming {
  readonly ms_per_step: number;
  readonly tokens_per_s: number;
  readonly steps_timed: number;
}

export type OtherBackendLine =
  | ({ readonly bench: 'train_backend'; readonly backend: BackendName; readonly workers: 1 } & BackendTiming)
  | { readonly bench: 'train_backend'; readonly backend: BackendName; readonly skipped: string };

/** One line per backend but `current`, in the automatic order; `time` runs the step on a backend and returns its figures. */
export async function otherBackendLines(
  probes: readonly BackendAvailability[],
  current: BackendName,
  time: (backend: BackendName) => Promise<BackendTiming>,
): Promise<OtherBackendLine[]> {
  const lines: OtherBackendLine[] = [];
  for (const p of probes) {
    if (p.backend === current) continue;
    if (p.usable !== 'yes') lines.push({ bench: 'train_backend', backend: p.backend, skipped: `${p.usable === 'by-name' ? 'usable by name only' : 'not usable'}: ${p.reason}` });
    else if (p.backend === 'cpu') lines.push({ bench: 'train_backend', backend: p.backend, skipped: `not timed: ${p.reason}` });
    else {
      try {
        lines.push({ bench: 'train_backend', backend: p.backend, workers: 1, ...(await time(p.backend)) });
      } catch (err) {
        lines.push({ bench: 'train_backend', backend: p.backend, skipped: `failed: ${(err as Error).message.split('\n')[0]}` });
      }
    }
  }
  return lines;
}
