/**
 * Browser mode's HTTP + WebSocket server on the real services: the access token (header or query, never a
 * cookie), 401 without it on every API route, Host and Origin checks, the image route confined to opened folders, uploads, payload
 * validation (400 with the schema's message), and job events over the WebSocket.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { JobEvent } from '../../src-main/contract/types.ts';
import { startServer, type RunningServer } from '../../src-main/server/http-server.ts';
import { AppServices } from '../../src-main/services/app-services.ts';
import { writeFixedCaptionBundle, writeImage } from '../services/fixtures.ts';

let root: string;
let services: AppServices;
let server: RunningServer;
let base: string;
let opened: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-http-'));
  await writeFixedCaptionBundle(path.join(root, 'builtin', 'default'), ['a', 'red', 'square']);
  services = await AppServices.create({ mode: 'browser', dataDir: path.join(root, 'data'), cacheDir: path.join(root, 'cache'), builtinModelsDir: path.join(root, 'builtin'), uploadDir: path.join(root, 'uploads') });
  const rendererDir = path.join(root, 'renderer');
  await mkdir(rendererDir);
  await writeFile(path.join(rendererDir, 'index.html'), '<!doctype html><title>Caption Studio</title>');
  server = await startServer({ services, rendererDir, token: 'secret-token-for-tests' });
  base = `http://127.0.0.1:${server.port}`;
  opened = path.join(root, 'opened');
  await writeImage(path.join(opened, 'ok.png'), [200, 10, 10]);
  await writeImage(path.join(root, 'private.png'), [1, 1, 1]);
  await services.media.allow(opened);
});
afterAll(async () => {
  await server?.close();
  await services?.close();
  await rm(root, { recursive: true, force: true });
});

const auth = { 'x-caption-studio-token': 'secret-token-for-tests' };

/** A raw request (fetch cannot set Host). */
function raw(pathname: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, path: pathname, method, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const call = (method: string, payload: unknown, headers: Record<string, string> = auth) =>
  fetch(`${base}/api/call/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof payload === 'string' ? payload : JSON.stringify(payload) });

describe('access', () => {
  it('answers 401 without the token on every API route; the page itself holds no data and needs none', async () => {
    expect((await call('models.list', {}, {})).status).toBe(401);
    expect((await call('models.list', {}, { 'x-caption-studio-token': 'wrong' })).status).toBe(401);
    expect((await fetch(`${base}/api/image?path=${encodeURIComponent(path.join(opened, 'ok.png'))}`)).status).toBe(401);
    expect((await fetch(`${base}/api/image?path=${encodeURIComponent(path.join(opened, 'ok.png'))}&token=wrong`)).status).toBe(401);
    expect((await fetch(`${base}/`)).status).toBe(200);
  });

  it('serves the page at the printed address without setting any cookie, and takes the token as a header or in the query', async () => {
    const page = await fetch(server.url, { redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(page.headers.get('set-cookie')).toBeNull();
    expect(await page.text()).toContain('Caption Studio');
    expect(page.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(page.headers.get('content-security-policy')).not.toMatch(/unsafe-eval/);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    // A cookie named as the old versions named it is not a credential.
    expect((await call('models.list', {}, { cookie: `cs_token_${server.port}=secret-token-for-tests` })).status).toBe(401);
    expect((await call('models.list', {})).status).toBe(200);
    const image = await fetch(`${base}/api/image?path=${encodeURIComponent(path.join(opened, 'ok.png'))}&token=secret-token-for-tests`);
    expect(image.status).toBe(200);
    expect(image.headers.get('set-cookie')).toBeNull();
  });

  it('refuses unexpected Host and Origin headers (DNS rebinding, cross-site requests)', async () => {
    expect((await raw('/', { host: `evil.example:${server.port}`, ...auth })).status).toBe(403);
    expect((await raw('/', { host: `127.0.0.1:${server.port + 1}`, ...auth })).status).toBe(403);
    expect((await raw('/', { host: `localhost:${server.port}`, ...auth })).status).toBe(200);
    const cross = await raw('/api/call/models.list', { host: `127.0.0.1:${server.port}`, origin: 'https://evil.example', 'content-type': 'application/json', ...auth }, 'POST', '{}');
    expect(cross.status).toBe(403);
    expect(JSON.parse(cross.body).error).toMatch(/Origin/);
    const same = await raw('/api/call/models.list', { host: `127.0.0.1:${server.port}`, origin: `http://127.0.0.1:${server.port}`, 'content-type': 'application/json', ...auth }, 'POST', '{}');
    expect(same.status).toBe(200);
  });
});

describe('image route', () => {
  const image = (p: string) => fetch(`${base}/api/image?path=${encodeURIComponent(p)}`, { headers: auth });
  it('serves images inside opened folders', async () => {
    const res = await image(path.join(opened, 'ok.png'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const thumb = await fetch(`${base}/api/thumb?size=96&path=${encodeURIComponent(path.join(opened, 'ok.png'))}`, { headers: auth });
    expect(thumb.headers.get('content-type')).toBe('image/jpeg');
  });
  it('refuses path traversal, files outside opened folders and non-images', async () => {
    for (const p of [path.join(opened, '..', 'private.png'), `${opened}/../private.png`, path.join(root, 'private.png'), '/etc/passwd', path.join(root, 'data', 'settings.json'), '../private.png']) {
      const res = await image(p);
      expect(res.status, p).toBe(403);
    }
    const encoded = await raw(`/api/image?path=${opened}%2F..%2Fprivate.png`, { host: `127.0.0.1:${server.port}`, ...auth });
    expect(encoded.status).toBe(403);
    expect((await fetch(`${base}/%2e%2e/%2e%2e/etc/passwd`, { headers: auth })).status).toBe(404);
  });
});

describe('calls', () => {
  it('rejects a malformed payload with 400 and the validation error', async () => {
    const res = await call('caption.start', { paths: 42 });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 'validation', error: expect.stringMatching(/^caption\.start: invalid request — paths: /) });
    const notJson = await call('settings.update', '{beamSize:');
    expect(notJson.status).toBe(400);
    expect((await notJson.json()).error).toMatch(/not valid JSON/);
    expect((await call('no.such', {})).status).toBe(404);
    expect((await fetch(`${base}/api/call/models.list`, { headers: auth })).status).toBe(405);
  });

  it('uploads a dropped file into the session folder and captions it, streaming events over the WebSocket', async () => {
    const eventsUrl = `ws://127.0.0.1:${server.port}/api/events?token=secret-token-for-tests`;
    const refused = new WebSocket(eventsUrl, { origin: 'https://evil.example' });
    await expect(new Promise((resolve, reject) => { refused.on('open', resolve); refused.on('error', reject); })).rejects.toThrow(/403/);
    const noToken = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, { origin: `http://127.0.0.1:${server.port}` });
    await expect(new Promise((resolve, reject) => { noToken.on('open', resolve); noToken.on('error', reject); })).rejects.toThrow(/401/);

    const cookieOnly = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, { headers: { cookie: `cs_token_${server.port}=secret-token-for-tests` }, origin: `http://127.0.0.1:${server.port}` });
    await expect(new Promise((resolve, reject) => { cookieOnly.on('open', resolve); cookieOnly.on('error', reject); })).rejects.toThrow(/401/);
    const ws = new WebSocket(eventsUrl, { origin: `http://127.0.0.1:${server.port}` });
    await new Promise((resolve, reject) => { ws.on('open', resolve); ws.on('error', reject); });
    const events: JobEvent[] = [];
    ws.on('message', (data) => events.push(JSON.parse(String(data)) as JobEvent));

    const bytes = await readFile(path.join(opened, 'ok.png'));
    const up = await fetch(`${base}/api/upload`, { method: 'POST', headers: { ...auth, 'x-file-name': encodeURIComponent('../../étrange name.png') }, body: bytes });
    expect(up.status).toBe(200);
    const { path: stored } = (await up.json()) as { path: string };
    expect(path.basename(stored)).toBe('étrange name.png');
    expect(stored.startsWith(path.join(root, 'uploads') + path.sep)).toBe(true);
    expect(await readFile(stored)).toEqual(bytes);

    // Over the limit by its declared length: refused before anything is stored.
    const tooBig = await raw('/api/upload', { host: `127.0.0.1:${server.port}`, ...auth, 'x-file-name': 'huge.png', 'content-length': String(200 * 1024 * 1024) }, 'POST', '');
    expect(tooBig.status).toBe(413);
    expect(JSON.parse(tooBig.body)).toEqual({ code: 'validation', error: 'huge.png: upload is over 100 MB' });

    const started = await call('caption.start', { paths: [stored] });
    expect(started.status).toBe(200);
    const job = (await started.json()) as { id: string };
    await services.jobs.wait(job.id);
    await expect.poll(() => events.find((e) => e.type === 'caption' && e.jobId === job.id), { timeout: 10_000 }).toMatchObject({ item: { ok: true, caption: 'a red square' } });
    await expect.poll(() => events.some((e) => e.type === 'job' && e.job.id === job.id && e.job.state === 'done')).toBe(true);
    ws.close();
    // The uploaded copy is removed once its job has ended (the page shows its own copy of the dropped file).
    await expect.poll(() => existsSync(stored)).toBe(false);
    expect(existsSync(path.dirname(stored))).toBe(false);
    expect((await fetch(`${base}/api/image?path=${encodeURIComponent(stored)}`, { headers: auth })).status).not.toBe(200);
  });
});
