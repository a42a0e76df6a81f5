/**
 * Browser mode's access token stays with its own origin. Cookies are not isolated by port, so a token kept in a
 * cookie went along with every request the browser made to any other service on 127.0.0.1; the page now keeps it
 * in its sessionStorage (per origin, port included) and sends it as a header. A second local server, visited in
 * the same browser after the app, must receive nothing that opens the API.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from './harness.ts';

let h: Harness;
let other: Server;
const received: { url: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  h = await startHarness('token');
  other = createServer((req, res) => {
    received.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>another local service</title><img src="/pixel.png">');
  });
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', () => resolve()));
});
afterAll(async () => {
  await new Promise((resolve) => other?.close(resolve));
  await h?.close();
});

describe('the access token', () => {
  it('is never sent to another service on 127.0.0.1, and the app keeps working in its tab', async () => {
    const { page, server } = h;
    // The app has made its calls (models, settings) with the token by now; the token left the address bar.
    expect(new URL(page.url()).searchParams.get('token')).toBeNull();
    const cookies = await h.context.cookies();
    expect(cookies.filter((c) => c.value.includes(server.token))).toEqual([]);

    const port = (other.address() as AddressInfo).port;
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForLoadState('load');
    expect(received.length).toBeGreaterThan(0);
    for (const r of received) {
      expect(r.headers.cookie).toBeUndefined();
      expect(JSON.stringify(r)).not.toContain(server.token);
    }

    // Back to the app's address without the token: the tab still has it, so the app loads its data.
    await page.goto(`http://127.0.0.1:${server.port}/`);
    await page.waitForSelector('[data-testid="nav-caption"]');
    const kept = await page.evaluate(() => sessionStorage.getItem('caption-studio-token'));
    expect(kept).toBe(server.token);
    const info = await page.evaluate(async (token) => {
      const res = await fetch('/api/call/app.info', { method: 'POST', headers: { 'content-type': 'application/json', 'x-caption-studio-token': token }, body: '{}' });
      return res.status;
    }, kept ?? '');
    expect(info).toBe(200);
    expect(await page.locator('[data-testid=session-ended]').count()).toBe(0);
  });
});
