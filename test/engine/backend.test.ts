import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { cudaHint, currentBackend, describeBackend, initBackend, parsePreference, resolveWasmDir } from '../../src-main/engine/backend.ts';
import { probeBackends } from '../../src-main/engine/backend-probe.ts';

const require = createRequire(import.meta.url);
function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/** 2 + 3 on whatever backend runs, to show it really computes. */
async function computes(): Promise<number> {
  const t = tf.add(tf.scalar(2), tf.scalar(3));
  const v = (await t.data())[0]!;
  t.dispose();
  return v;
}

describe('initBackend', () => {
  it('honours CAPTION_STUDIO_BACKEND', async () => {
    const report = await initBackend({ env: { CAPTION_STUDIO_BACKEND: 'cpu' } });
    expect(report).toMatchObject({ backend: 'cpu', tfjsBackend: 'cpu', requested: 'cpu', requestedBy: 'env', skipped: [] });
    expect(tf.getBackend()).toBe('cpu');
    expect(await computes()).toBe(5);
  });

  it('lets an explicit option win over the environment, and reports wasm details', async () => {
    const report = await initBackend({ prefer: 'wasm', env: { CAPTION_STUDIO_BACKEND: 'cpu' } });
    expect(report).toMatchObject({ backend: 'wasm', tfjsBackend: 'wasm', requestedBy: 'option' });
    expect(tf.getBackend()).toBe('wasm');
    expect(typeof report.wasm?.simd).toBe('boolean');
    expect(report.wasm?.threadsCount).toBeGreaterThanOrEqual(1);
    expect(existsSync(path.join(report.wasm!.dir, 'tfjs-backend-wasm.wasm'))).toBe(true);
    expect(await computes()).toBe(5);
  });

  it("with 'auto', lists the faster backends it skipped and why", async () => {
    const report = await initBackend({ prefer: 'auto', env: {} });
    expect(report.requested).toBe('auto');
    const order = ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
    // Everything before the chosen backend was skipped, in order, each with a reason.
    expect(report.skipped.map((s) => s.backend)).toEqual(order.slice(0, order.indexOf(report.backend)));
    // Captioning cannot run on webgpu yet, so a process that may caption never picks it automatically.
    if (order.indexOf(report.backend) > order.indexOf('webgpu')) {
      expect(report.skipped.find((s) => s.backend === 'webgpu')?.reason).toMatch(/^not picked for captioning: its decoding step reads synchronously/);
    }
    // Each native backend: not installed → skipped for exactly that reason; installed → chosen, or skipped for
    // another reason (it failed to load or start), never "not installed". Holds whatever is installed.
    for (const [backend, pkg] of [['tensorflow-gpu', '@tensorflow/tfjs-node-gpu'], ['tensorflow', '@tensorflow/tfjs-node']] as const) {
      const skipped = report.skipped.find((s) => s.backend === backend);
      if (!installed(pkg)) {
        if (order.indexOf(report.backend) > order.indexOf(backend)) expect(skipped?.reason).toBe(`package ${pkg} not installed`);
        expect(report.backend).not.toBe(backend);
      } else if (skipped) {
        expect(skipped.reason).not.toBe(`package ${pkg} not installed`);
      }
    }
    for (const s of report.skipped) expect(s.reason.length).toBeGreaterThan(0);
    // Neither native package installed: wasm is the fastest that starts (it is always bundled).
    if (!installed('@tensorflow/tfjs-node') && !installed('@tensorflow/tfjs-node-gpu')) expect(report.backend).toBe('wasm');
    // The one-line description names the backend and every skipped one with its reason, in order.
    const described = describeBackend(report);
    expect(described.startsWith(report.backend)).toBe(true);
    let at = 0;
    for (const s of report.skipped) {
      const i = described.indexOf(`${s.backend}: ${s.reason}`, at);
      expect(i, `${s.backend} in "${described}"`).toBeGreaterThan(at);
      at = i;
    }
    if (report.backend === 'wasm') expect(described).toMatch(/^wasm \((no )?SIMD, \d+ threads?[;)]/);
    expect(currentBackend()).toBe(report);
  });

  it('is idempotent: the same request returns the same report, also when calls overlap', async () => {
    const [a, b] = await Promise.all([initBackend({ prefer: 'wasm' }), initBackend({ prefer: 'wasm' })]);
    expect(b).toBe(a);
    expect(await initBackend({ prefer: 'wasm' })).toBe(a);
  });

  it('fails loudly for a named backend that cannot start, and for an unknown name', async () => {
    // The native backend: without its package a one-line refusal naming it; with it, it starts (and computes) or
    // is refused with the reason — never a silent fallback to another backend.
    const named = await initBackend({ prefer: 'tensorflow' }).then(
      (report) => ({ report, error: null }),
      (err: unknown) => ({ report: null, error: (err as Error).message }),
    );
    if (!installed('@tensorflow/tfjs-node')) {
      expect(named.error).toBe('backend tensorflow (asked for by option) cannot start: package @tensorflow/tfjs-node not installed');
    } else if (named.report) {
      expect(named.report.backend).toBe('tensorflow');
      expect(await computes()).toBe(5);
    } else {
      expect(named.error).toMatch(/^backend tensorflow \(asked for by option\) cannot start: \S/);
    }
    await expect(initBackend({ env: { CAPTION_STUDIO_BACKEND: 'gpu' } })).rejects.toThrow(
      'CAPTION_STUDIO_BACKEND: unknown backend "gpu" (expected auto, tensorflow-gpu, webgpu, tensorflow, wasm, cpu)',
    );
    expect(parsePreference('WASM')).toBe('wasm');
  });
});

describe('resolveWasmDir', () => {
  it('finds the .wasm files in node_modules, or takes CAPTION_STUDIO_WASM_DIR', () => {
    const dir = resolveWasmDir({});
    expect(dir.endsWith(path.sep)).toBe(true);
    expect(existsSync(path.join(dir, 'tfjs-backend-wasm-simd.wasm'))).toBe(true);
    expect(resolveWasmDir({ CAPTION_STUDIO_WASM_DIR: '/opt/app/wasm' })).toBe(`/opt/app/wasm${path.sep}`);
  });
});

describe('the backend list', () => {
  it('names the CUDA library tfjs-node-gpu wanted and the one CUDA setup 4.22 loads with', () => {
    expect(cudaHint("libcudart.so.11.0: cannot open shared object file: No such file or directory")).toBe(
      'it wanted libcudart.so.11.0, which could not be loaded; tfjs-node-gpu 4.22 needs exactly CUDA 11.2 and cuDNN 8.1 (other CUDA versions, e.g. 12, do not load it)',
    );
    expect(cudaHint('Could not load dynamic library libcudnn.so.8')).toContain('it wanted libcudnn.so.8,');
    expect(cudaHint('The specified module could not be found. cudart64_110.dll')).toContain('it wanted cudart64_110.dll,');
    expect(cudaHint('segfault')).toBe('segfault; tfjs-node-gpu 4.22 needs exactly CUDA 11.2 and cuDNN 8.1 (other CUDA versions, e.g. 12, do not load it)');
  });

  it('lists every backend in the automatic order, each usable or not with a reason; wasm and cpu always usable', async () => {
    const list = await probeBackends();
    expect(list.map((b) => b.backend)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']);
    for (const b of list) expect(b.reason.length).toBeGreaterThan(10);
    expect(list.find((b) => b.backend === 'wasm')!.usable).toBe('yes');
    expect(list.find((b) => b.backend === 'cpu')!.usable).toBe('yes');
    if (!installed('@tensorflow/tfjs-node-gpu')) expect(list[0]).toEqual({ backend: 'tensorflow-gpu', usable: 'no', reason: 'package @tensorflow/tfjs-node-gpu not installed' });
    // A software WebGPU adapter is never usable automatically.
    const webgpu = list.find((b) => b.backend === 'webgpu')!;
    if (/software/.test(webgpu.reason)) expect(webgpu.usable).toBe('by-name');
  });
});
