/**
 * The desktop app as packaged, booted without the Electron binary: the esbuild bundles of the main process and
 * the preload run in Node with `electron` replaced by a stand-in (electron-stub/), and are driven through the
 * preload's bridge as the renderer would — the window's security options, every contract method registered over
 * IPC, validation of payloads and senders, a caption job streaming its events back, the custom protocols, and a
 * clean quit that closes the services. The bundles are built by test/global-setup.ts.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { METHODS, ipcChannel } from '../../src-main/contract/channels.ts';
import type { CaptionItem, JobSummary } from '../../src-main/contract/types.ts';
import { packageRoot } from '../../src-main/util/paths.ts';
import { SECURE_WEB_PREFERENCES } from './electron-fake.ts';

const root = packageRoot();
const samples = path.join(root, 'assets', 'samples');

interface BootReport {
  readonly windows: number;
  readonly url: string;
  readonly backgroundColor: string;
  readonly webPreferences: Record<string, unknown>;
  readonly windowOpen: unknown;
  readonly ipcChannels: string[];
  readonly protocols: string[];
  readonly privileged: string[];
  readonly sessionHooks: string[];
  readonly menu: boolean;
  readonly preloadRequires: string[];
  readonly bridge: string[];
  readonly info: { ok: boolean; value?: { mode: string; name: string } };
  readonly invalid: { ok: boolean; error?: string; code?: string };
  readonly unknown: { ok: boolean; error?: string };
  readonly finished: JobSummary;
  readonly captions: CaptionItem[];
  readonly foreignFrame: { ok: boolean; error?: string };
  readonly foreignContents: { ok: boolean; error?: string };
  readonly protocolResponses: { appPage: { status: number; type: string; hasApp: boolean }; image: { status: number; type: string }; outside: { status: number } };
  readonly quitted: boolean;
}

let report: BootReport;

beforeAll(async () => {
  const child = spawn(process.execPath, [path.join(root, 'test', 'app', 'electron-stub', 'boot.mjs'), path.join(root, 'out'), samples], {
    cwd: root,
    env: { ...process.env, CS_STUB_APP_PATH: root, CAPTION_STUDIO_BACKEND: 'wasm' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // The child ends by itself once the app has quit (its workers stopped); one that hangs is killed and fails here.
  const killer = setTimeout(() => child.kill('SIGKILL'), 150_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(killer);
  if (code !== 0) throw new Error(`boot.mjs exited ${code ?? 'on a signal (it did not end by itself)'}: ${stderr.slice(-2000)}`);
  report = JSON.parse(stdout.trim().split('\n').at(-1)!) as BootReport;
}, 180_000);

describe('the bundled desktop app, booted with a stand-in for Electron', () => {
  it('opens one window on the app origin with every safety option set, dark at first paint when the OS is dark', () => {
    expect(report.windows).toBe(1);
    expect(report.url).toBe('cs-app://renderer/index.html');
    expect(report.webPreferences).toMatchObject({ preload: path.join('preload', 'index.cjs'), ...SECURE_WEB_PREFERENCES });
    expect(report.windowOpen).toEqual({ action: 'deny' });
    expect(report.backgroundColor).toBe('#0f1220');
    expect(report.sessionHooks).toEqual(['headers', 'permission-request', 'permission-check']);
    expect(report.menu).toBe(true);
  });

  it('registers one IPC handler per contract method and exposes only the small bridge; the sandboxed preload requires nothing but electron', () => {
    expect(report.ipcChannels).toEqual(METHODS.map((m) => ipcChannel(m)).sort());
    expect(report.bridge).toEqual(['invoke', 'onEvent', 'pathForFile', 'platform']);
    expect(report.preloadRequires.filter((r) => !r.endsWith('index.cjs'))).toEqual(['electron']);
  });

  it('answers through the bridge, refuses malformed payloads, unknown methods and foreign senders in one line', () => {
    // The version comes from Electron (a packaged app has no package.json above models/ to read it from).
    expect(report.info).toMatchObject({ ok: true, value: { name: 'Caption Studio', mode: 'electron', version: '0.0.0-stub' } });
    expect(report.invalid).toEqual({ ok: false, code: 'validation', error: expect.stringMatching(/^settings\.update: invalid request — beamSize: /) });
    expect(report.unknown).toMatchObject({ ok: false, error: 'unknown method no.such.method' });
    for (const refused of [report.foreignFrame, report.foreignContents]) {
      expect(refused).toMatchObject({ ok: false, error: 'app.info: refused: the request does not come from a Caption Studio window' });
    }
  });

  it('captions a folder in a worker and streams one caption event per picture back to the window', async () => {
    const pictures = (await readdir(samples)).filter((f) => f.endsWith('.jpg')).sort();
    expect(report.finished).toMatchObject({ kind: 'caption', state: 'done', result: { kind: 'caption', captioned: pictures.length, failed: 0 } });
    expect(report.captions.map((c) => c.name).sort()).toEqual(pictures);
    expect(report.captions.every((c) => c.ok && c.caption.length > 0 && c.modelId === 'default')).toBe(true);
  });

  it('serves the app page and the opened folder\'s images through its protocols, and nothing outside them; quits cleanly', () => {
    expect(report.protocols).toEqual(['cs-app', 'cs-media']);
    expect(report.privileged).toEqual(['cs-app', 'cs-media']);
    expect(report.protocolResponses.appPage).toEqual({ status: 200, type: 'text/html; charset=utf-8', hasApp: true });
    expect(report.protocolResponses.image).toEqual({ status: 200, type: 'image/jpeg' });
    expect(report.protocolResponses.outside.status).toBe(403);
    expect(report.quitted).toBe(true);
  });
});
