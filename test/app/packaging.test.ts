/**
 * What a packaged build is made of, checked without the Electron binary (it cannot be installed here): the app is
 * an asar archive, the afterPack hook flips the Electron fuses of the packed executable (run on a stand-in binary
 * that carries Electron's fuse sentinel), and a packaged app never loads — nor trusts for IPC — a page named by
 * ELECTRON_RENDERER_URL.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getCurrentFuseWire, FuseV1Options } from '@electron/fuses';
import type { AfterPackContext } from 'electron-builder';
import config, { afterPack, electronBinaryPath } from '../../electron.config.ts';
import { rendererTarget } from '../../src-main/app/renderer-url.ts';

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** The bytes a fuse holds (@electron/fuses' constants, not exported by the package). */
const FuseState = { DISABLE: 48, ENABLE: 49 } as const;
let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-pack-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A file shaped like an Electron executable as far as fuses go: bytes, the sentinel, version 1, 8 fuses as shipped. */
async function fakeElectron(file: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const shipped = [FuseState.ENABLE, FuseState.DISABLE, FuseState.ENABLE, FuseState.ENABLE, FuseState.DISABLE, FuseState.DISABLE, FuseState.DISABLE, FuseState.ENABLE];
  await writeFile(file, Buffer.concat([Buffer.from('\x7fELF…code…'), Buffer.from(SENTINEL), Buffer.from([1, shipped.length, ...shipped]), Buffer.from('…more code')]));
}

function context(appOutDir: string, electronPlatformName: string): AfterPackContext {
  return { appOutDir, electronPlatformName, packager: { appInfo: { productFilename: 'Caption Studio' }, executableName: 'caption-studio' } } as unknown as AfterPackContext;
}

describe('packaging', () => {
  it('packs the app as an asar archive, with native and WebAssembly binaries unpacked beside it', () => {
    expect(config.asar).toBe(true);
    expect(config.asarUnpack).toEqual(expect.arrayContaining([expect.stringContaining('node_modules/sharp/'), expect.stringContaining('tfjs-backend-wasm')]));
    expect(config.afterPack).toBe(afterPack);
  });

  it('flips the fuses of the packed Electron binary: no run-as-node, no --inspect, asar only and integrity-checked', async () => {
    const linux = path.join(root, 'linux-unpacked');
    await fakeElectron(path.join(linux, 'caption-studio'));
    await afterPack(context(linux, 'linux'));
    const wire = await getCurrentFuseWire(path.join(linux, 'caption-studio'));
    expect(wire[FuseV1Options.RunAsNode]).toBe(FuseState.DISABLE);
    expect(wire[FuseV1Options.EnableNodeOptionsEnvironmentVariable]).toBe(FuseState.DISABLE);
    expect(wire[FuseV1Options.EnableNodeCliInspectArguments]).toBe(FuseState.DISABLE);
    expect(wire[FuseV1Options.EnableEmbeddedAsarIntegrityValidation]).toBe(FuseState.ENABLE);
    expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(FuseState.ENABLE);
    expect(wire[FuseV1Options.GrantFileProtocolExtraPrivileges]).toBe(FuseState.DISABLE);
    // Only the fuse wire changed.
    const bytes = await readFile(path.join(linux, 'caption-studio'));
    expect(bytes.subarray(bytes.length - Buffer.byteLength('…more code')).toString()).toBe('…more code');
  });

  it('finds the executable of each platform', () => {
    expect(electronBinaryPath(context('/o', 'linux'))).toBe(path.join('/o', 'caption-studio'));
    expect(electronBinaryPath(context('/o', 'win32'))).toBe(path.join('/o', 'Caption Studio.exe'));
    expect(electronBinaryPath(context('/o', 'darwin'))).toBe(path.join('/o', 'Caption Studio.app'));
  });
});

describe('ELECTRON_RENDERER_URL', () => {
  it('is ignored by a packaged app: the window loads the app origin and IPC trusts nothing else', () => {
    const packaged = rendererTarget('http://localhost:5173/', true);
    expect(packaged).toEqual({ url: 'cs-app://renderer/index.html', origins: ['cs-app://renderer'], ignored: expect.stringMatching(/packaged/) });
  });

  it('serves development only, from an http server on this machine', () => {
    expect(rendererTarget('http://localhost:5173/', false)).toEqual({ url: 'http://localhost:5173/', origins: ['cs-app://renderer', 'http://localhost:5173'], ignored: null });
    expect(rendererTarget(undefined, false)).toEqual({ url: 'cs-app://renderer/index.html', origins: ['cs-app://renderer'], ignored: null });
    for (const remote of ['https://evil.example/', 'http://192.168.1.5:5173/', 'file:///tmp/x.html', 'not a url']) {
      expect(rendererTarget(remote, false).origins, remote).toEqual(['cs-app://renderer']);
    }
  });
});
