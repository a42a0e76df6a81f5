/** `backends.list`, which Settings shows: every backend in the automatic order, usable or not, each with its reason. */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppServices } from '../../src-main/services/app-services.ts';

let root: string;
let services: AppServices;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-services-backends-'));
  services = await AppServices.create({
    mode: 'browser',
    dataDir: path.join(root, 'data'),
    cacheDir: path.join(root, 'cache'),
    builtinModelsDir: path.join(root, 'builtin'),
    uploadDir: path.join(root, 'uploads'),
  });
});

afterAll(async () => {
  await services?.close();
  await rm(root, { recursive: true, force: true });
});

describe('backends.list', () => {
  it('lists tensorflow-gpu, webgpu, tensorflow, wasm and cpu, each with a reason; wasm and cpu are usable', async () => {
    const r = await services.call('backends.list', {});
    if (!r.ok) throw new Error(r.error);
    expect(r.value.map((b) => b.backend)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu']);
    for (const b of r.value) {
      expect(['yes', 'by-name', 'no']).toContain(b.usable);
      expect(b.reason).not.toBe('');
    }
    expect(r.value.filter((b) => b.backend === 'wasm' || b.backend === 'cpu').map((b) => b.usable)).toEqual(['yes', 'yes']);
    // Unknown fields are refused like every other method's.
    const bad = await services.call('backends.list', { extra: 1 });
    expect(bad.ok).toBe(false);
  });
});
