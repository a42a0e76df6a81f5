/** `backends.list`, which Settings shows: every backend in the automatic order, usable or not, each with its reason. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppServices } from '../../src-main/services/app-services.ts';
import { servicesInTempDir } from './fixtures.ts';

let services: AppServices;
let close: () => Promise<void> = async () => {};

beforeAll(async () => {
  ({ services, close } = await servicesInTempDir('cs-services-backends-'));
});

afterAll(() => close());

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
