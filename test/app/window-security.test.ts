/**
 * The Electron window and process-wide security with Electron mocked: the window options (context isolation,
 * sandbox, no Node integration…), the CSP (no eval, no inline script, no remote origins), navigation and
 * window.open blocked, permissions denied, and the custom protocols' path checks.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppServices } from '../../src-main/services/app-services.ts';
import { packageRoot } from '../../src-main/util/paths.ts';
import { writeImage } from '../services/fixtures.ts';
import { FakeBrowserWindow, FakeWebContents, fakeState, SECURE_WEB_PREFERENCES } from './electron-fake.ts';

vi.mock('electron', async () => (await import('./electron-fake.ts')).electronFake());

const { createMainWindow, originOf, RENDERER_ORIGIN, RENDERER_URL, WINDOW_BACKGROUND } = await import('../../src-main/app/window.ts');
const { ELECTRON_CSP, guardWebContents, setupNavigationGuards, setupSessionSecurity } = await import('../../src-main/app/security.ts');
const { handleAppRequest, handleMediaRequest, registerSchemes, setupProtocols } = await import('../../src-main/app/protocol.ts');
const { session } = await import('electron');

const isAppUrl = (url: string): boolean => originOf(url) === RENDERER_ORIGIN;

describe('main window', () => {
  it('is created with isolation, sandbox and no Node integration, loading the app origin through the preload', () => {
    const win = createMainWindow('/app/out/preload/index.cjs', RENDERER_URL) as unknown as FakeBrowserWindow;
    const prefs = win.options.webPreferences as Record<string, unknown>;
    expect(prefs).toMatchObject({ preload: '/app/out/preload/index.cjs', ...SECURE_WEB_PREFERENCES });
    expect(win.loadedUrl).toBe('cs-app://renderer/index.html');
  });

  it('asks before closing over unsaved edits (the page\'s beforeunload): leaving only when the user says so', () => {
    const win = createMainWindow('/p', RENDERER_URL) as unknown as FakeBrowserWindow;
    fakeState.messageBoxAnswer = 1; // Stay
    expect(win.webContents.emit('will-prevent-unload')).toBe(false);
    fakeState.messageBoxAnswer = 0; // Discard edits and close
    expect(win.webContents.emit('will-prevent-unload')).toBe(true);
    expect(fakeState.messageBoxes.map((b) => b.buttons)).toEqual([
      ['Discard edits and close', 'Stay'],
      ['Discard edits and close', 'Stay'],
    ]);
  });

  it('paints the first frame in the background of the theme the page will use', async () => {
    const css = await readFile(path.join(packageRoot(), 'src-renderer', 'app.css'), 'utf8');
    const backgrounds = [...css.matchAll(/--bg:\s*(#[0-9a-f]{6})/gi)].map((m) => m[1]!.toLowerCase());
    expect(backgrounds).toEqual([WINDOW_BACKGROUND.light, WINDOW_BACKGROUND.dark]);
    const options = (dark: boolean) => (createMainWindow('/p', RENDERER_URL, undefined, dark) as unknown as FakeBrowserWindow).options;
    expect(options(false).backgroundColor).toBe(WINDOW_BACKGROUND.light);
    expect(options(true).backgroundColor).toBe(WINDOW_BACKGROUND.dark);
  });
});

describe('content security policy', () => {
  const directives = new Map(ELECTRON_CSP.split(';').map((d) => { const [name, ...values] = d.trim().split(/\s+/); return [name!, values]; }));
  it('allows scripts only from the app itself: no eval, no inline scripts, no remote origins', () => {
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(ELECTRON_CSP).not.toMatch(/unsafe-eval|https?:|\*|wasm-unsafe-eval/);
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(directives.get('frame-ancestors')).toEqual(["'none'"]);
    expect(directives.get('img-src')).toContain('cs-media:');
    // Svelte's style: directives and chart.js set styles through the CSSOM, which the CSP allows: no inline styles.
    expect(directives.get('style-src')).toEqual(["'self'"]);
  });

  it('is added to every response the session receives, and permission requests are refused', () => {
    setupSessionSecurity(session.defaultSession);
    let headers: Record<string, unknown> = {};
    fakeState.headersListener!({ url: 'cs-app://renderer/index.html', responseHeaders: { 'X-Other': ['1'] } }, (r: { responseHeaders: Record<string, unknown> }) => (headers = r.responseHeaders));
    expect(headers).toEqual({ 'X-Other': ['1'], 'Content-Security-Policy': [ELECTRON_CSP] });
    const answers: boolean[] = [];
    for (const p of ['geolocation', 'media', 'openExternal', 'clipboard-read', 'clipboard-sanitized-write']) fakeState.permissionHandler!(null, p, (ok: boolean) => answers.push(ok));
    expect(answers).toEqual([false, false, false, false, true]);
  });
});

describe('navigation guards', () => {
  it('block leaving the app, opening windows and attaching webviews', () => {
    const contents = new FakeWebContents();
    guardWebContents(contents as never, isAppUrl);
    expect(contents.emit('will-navigate', 'https://evil.example/')).toBe(true);
    expect(contents.emit('will-navigate', 'file:///etc/passwd')).toBe(true);
    expect(contents.emit('will-redirect', 'http://127.0.0.1:9/')).toBe(true);
    expect(contents.emit('will-navigate', 'cs-app://renderer/index.html')).toBe(false);
    expect(contents.emit('will-attach-webview')).toBe(true);
    expect(contents.windowOpenHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' });
  });

  it('apply to every web contents the app creates', () => {
    setupNavigationGuards(isAppUrl);
    const contents = new FakeWebContents();
    for (const l of fakeState.appListeners.get('web-contents-created') ?? []) l({}, contents);
    expect(contents.emit('will-navigate', 'https://evil.example/')).toBe(true);
  });
});

describe('custom protocols', () => {
  let root: string;
  let services: AppServices;
  let opened: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'cs-proto-'));
    services = await AppServices.create({ mode: 'electron', dataDir: path.join(root, 'data'), cacheDir: path.join(root, 'cache'), builtinModelsDir: path.join(root, 'none') });
    opened = path.join(root, 'opened');
    await writeImage(path.join(opened, 'ok.png'), [10, 200, 10]);
    await writeImage(path.join(root, 'secret.png'), [1, 2, 3]);
    await writeFile(path.join(opened, 'notes.txt'), 'text');
    await services.media.allow(opened);
    await mkdir(path.join(root, 'renderer', 'assets'), { recursive: true });
    await writeFile(path.join(root, 'renderer', 'index.html'), '<!doctype html><title>x</title>');
  });
  afterAll(async () => {
    await services.close();
    await rm(root, { recursive: true, force: true });
  });
  const media = (route: string, p: string): string => `cs-media://${route}/?path=${encodeURIComponent(p)}`;

  it('are registered as privileged, standard schemes and handled', () => {
    registerSchemes();
    expect(fakeState.privileged).toEqual([
      expect.objectContaining({ scheme: 'cs-app', privileges: expect.objectContaining({ standard: true, secure: true }) }),
      expect.objectContaining({ scheme: 'cs-media', privileges: expect.objectContaining({ standard: true, secure: true }) }),
    ]);
    setupProtocols(services, path.join(root, 'renderer'));
    expect([...fakeState.protocolHandlers.keys()].sort()).toEqual(['cs-app', 'cs-media']);
  });

  it('serve images inside opened folders, and nothing else', async () => {
    const ok = await handleMediaRequest(services, media('image', path.join(opened, 'ok.png')));
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await ok.arrayBuffer()).subarray(1, 4)).toEqual(new TextEncoder().encode('PNG'));
    for (const bad of [path.join(opened, '..', 'secret.png'), path.join(root, 'secret.png'), path.join(opened, 'notes.txt'), '/etc/passwd', 'relative.png']) {
      const res = await handleMediaRequest(services, media('image', bad));
      expect(res.status, bad).toBe(403);
    }
    expect((await handleMediaRequest(services, media('download', path.join(opened, 'ok.png')))).status).toBe(403);
    const thumb = await handleMediaRequest(services, `${media('thumb', path.join(opened, 'ok.png'))}&size=96`);
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
  });

  it('serve the renderer with the CSP header and refuse paths outside it', async () => {
    const index = await handleAppRequest(path.join(root, 'renderer'), 'cs-app://renderer/index.html');
    expect(index.status).toBe(200);
    expect(index.headers.get('content-security-policy')).toBe(ELECTRON_CSP);
    expect((await handleAppRequest(path.join(root, 'renderer'), 'cs-app://renderer/%2e%2e/%2e%2e/secret.png')).status).toBe(404);
    expect((await handleAppRequest(path.join(root, 'renderer'), 'cs-app://renderer/..%2fsecret.png')).status).toBe(404);
    expect((await handleAppRequest(path.join(root, 'renderer'), 'cs-app://other/index.html')).status).toBe(404);
  });
});
