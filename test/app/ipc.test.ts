/**
 * The main process's IPC handlers with Electron mocked (and only Electron: the services behind them are real).
 * Every contract method has a handler; a call from one of our windows showing the app's page reaches the
 * services and its payload is validated; calls from unknown web contents or foreign pages are refused; events
 * are forwarded to every window.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EVENT_CHANNEL, METHODS, ipcChannel } from '../../src-main/contract/channels.ts';
import { AppServices } from '../../src-main/services/app-services.ts';
import { writeFixedCaptionBundle } from '../services/fixtures.ts';
import { FakeBrowserWindow, FakeWebContents, fakeState } from './electron-fake.ts';

vi.mock('electron', async () => (await import('./electron-fake.ts')).electronFake());

const { setupEventForwarding, setupIpc } = await import('../../src-main/app/ipc.ts');
const { RENDERER_ORIGIN } = await import('../../src-main/app/window.ts');

let root: string;
let services: AppServices;
let win: FakeBrowserWindow;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-ipc-'));
  await writeFixedCaptionBundle(path.join(root, 'builtin', 'default'), ['a', 'red', 'square'], 'Red square');
  services = await AppServices.create({ mode: 'electron', dataDir: path.join(root, 'data'), cacheDir: path.join(root, 'cache'), builtinModelsDir: path.join(root, 'builtin') });
  setupIpc(services, [RENDERER_ORIGIN]);
  win = new FakeBrowserWindow();
});
afterAll(async () => {
  await services?.close();
  await rm(root, { recursive: true, force: true });
});

function invoke(method: string, payload: unknown, sender: unknown = win.webContents, frameUrl: string | null = `${RENDERER_ORIGIN}/index.html`): Promise<unknown> {
  const handler = fakeState.ipcHandlers.get(`cs:${method}`);
  if (!handler) throw new Error(`no handler for ${method}`);
  return Promise.resolve(handler({ sender, senderFrame: frameUrl === null ? null : { url: frameUrl }, preventDefault() {} }, payload));
}

describe('setupIpc', () => {
  it('registers one handler per contract method, on its own channel', () => {
    expect([...fakeState.ipcHandlers.keys()].sort()).toEqual(METHODS.map((m) => ipcChannel(m)).sort());
  });

  it('answers a trusted window with the service result', async () => {
    const result = (await invoke('models.list', {})) as { ok: boolean; value: { id: string }[] };
    expect(result.ok).toBe(true);
    expect(result.value.map((m) => m.id)).toEqual(['default']);
    const info = (await invoke('app.info', {})) as { ok: true; value: { mode: string } };
    expect(info.value.mode).toBe('electron');
  });

  it('rejects a malformed payload with a validation error naming the field', async () => {
    expect(await invoke('settings.update', { beamSize: 'wide' })).toEqual({
      ok: false,
      code: 'validation',
      error: expect.stringMatching(/^settings\.update: invalid request — beamSize: /),
    });
    expect(await invoke('caption.start', { paths: [] })).toMatchObject({ ok: false, code: 'validation' });
    expect(await invoke('jobs.cancel', null)).toMatchObject({ ok: false, code: 'validation' });
  });

  it('refuses web contents that are not one of our windows, and pages from another origin', async () => {
    const stranger = new FakeWebContents();
    expect(await invoke('models.list', {}, stranger)).toMatchObject({ ok: false, error: expect.stringContaining('refused') });
    expect(await invoke('models.list', {}, win.webContents, 'https://evil.example/page')).toMatchObject({ ok: false, error: expect.stringContaining('refused') });
    expect(await invoke('models.list', {}, win.webContents, 'file:///etc/passwd')).toMatchObject({ ok: false });
    expect(await invoke('models.list', {}, win.webContents, null)).toMatchObject({ ok: false });
  });

  it('forwards backend events to every window', async () => {
    const stop = setupEventForwarding(services);
    const r = (await invoke('models.delete', { id: 'default' })) as { ok: boolean; code?: string };
    expect(r).toMatchObject({ ok: false, code: 'conflict' }); // the shipped model stays
    await invoke('settings.update', { backend: 'cpu' }); // a backend change is announced
    await vi.waitFor(() => expect(win.webContents.sent.some((m) => m.channel === EVENT_CHANNEL && (m.args[0] as { type: string }).type === 'backend')).toBe(true));
    stop();
  });
});
