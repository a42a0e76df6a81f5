/**
 * The train suite's line per other backend (bench/backend-lines.ts): timed only where the automatic choice may take
 * the backend; a software WebGPU adapter, a backend that cannot start and the plain JavaScript one each get one line
 * saying why not; a timing that fails becomes a line too.
 */
import { describe, expect, it } from 'vitest';
import { otherBackendLines } from '../../src-main/bench/backend-lines.ts';
import type { BackendAvailability } from '../../src-main/engine/backend-probe.ts';
import type { BackendName } from '../../src-main/engine/backend.ts';

const PROBES: BackendAvailability[] = [
  { backend: 'tensorflow-gpu', usable: 'no', reason: 'package @tensorflow/tfjs-node-gpu is not installed' },
  { backend: 'webgpu', usable: 'by-name', reason: 'only a software adapter, SwiftShader: slower than wasm, never picked automatically' },
  { backend: 'tensorflow', usable: 'yes', reason: 'package @tensorflow/tfjs-node loads' },
  { backend: 'wasm', usable: 'yes', reason: 'WebAssembly' },
  { backend: 'cpu', usable: 'yes', reason: 'plain JavaScript, about 20× slower than wasm' },
];

describe('otherBackendLines', () => {
  it('times the usable others, says why for the rest, one line each in the automatic order, the running one left out', async () => {
    const timed: BackendName[] = [];
    const lines = await otherBackendLines(PROBES, 'wasm', async (b) => {
      timed.push(b);
      return { ms_per_step: 400, tokens_per_s: 2560, steps_timed: 5 };
    });
    expect(timed).toEqual(['tensorflow']);
    expect(lines).toEqual([
      { bench: 'train_backend', backend: 'tensorflow-gpu', skipped: 'not usable: package @tensorflow/tfjs-node-gpu is not installed' },
      { bench: 'train_backend', backend: 'webgpu', skipped: 'usable by name only: only a software adapter, SwiftShader: slower than wasm, never picked automatically' },
      { bench: 'train_backend', backend: 'tensorflow', workers: 1, ms_per_step: 400, tokens_per_s: 2560, steps_timed: 5 },
      { bench: 'train_backend', backend: 'cpu', skipped: 'not timed: plain JavaScript, about 20× slower than wasm' },
    ]);
  });

  it('a backend whose timing fails gets its first error line', async () => {
    const lines = await otherBackendLines([{ backend: 'webgpu', usable: 'yes', reason: 'adapter NVIDIA' }], 'wasm', async () => {
      throw new Error('device lost\nstack');
    });
    expect(lines).toEqual([{ bench: 'train_backend', backend: 'webgpu', skipped: 'failed: device lost' }]);
  });
});
