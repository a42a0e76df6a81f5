/**
 * Who may talk to the browser-mode server: requests must name this server in `Host` (127.0.0.1 or localhost at
 * its port — anything else smells of DNS rebinding), may only come from its own `Origin`, and must carry the
 * per-run token: in a header (the page's calls and uploads) or the `?token=` query (the address printed at start,
 * the event WebSocket, image and download URLs). There is no cookie: cookies are not isolated by port, so a
 * cookie would be sent to every other service on 127.0.0.1 too. The page keeps the token in its sessionStorage,
 * which is per origin (port included).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TOKEN_HEADER } from '../contract/channels.ts';

/** A fresh random token (32 bytes, URL-safe base64). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export type AccessVerdict =
  | { readonly ok: true; readonly viaQuery: boolean }
  | { readonly ok: false; readonly status: 401 | 403; readonly reason: string };

export class AccessGuard {
  constructor(
    readonly token: string,
    readonly port: number,
  ) {}

  /** The hosts this server answers to. */
  allowedHosts(): string[] {
    return [`127.0.0.1:${this.port}`, `localhost:${this.port}`];
  }

  /** Checks Host and Origin only: enough for the page and its assets, which hold no data. */
  checkOrigin(req: IncomingMessage, requireOrigin = false): AccessVerdict {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.allowedHosts().includes(host)) return { ok: false, status: 403, reason: `unexpected Host header "${host}"` };
    const origin = req.headers.origin;
    if (origin !== undefined || requireOrigin) {
      const allowed = this.allowedHosts().map((h) => `http://${h}`);
      if (!origin || !allowed.includes(origin.toLowerCase())) return { ok: false, status: 403, reason: `unexpected Origin "${origin ?? ''}"` };
    }
    return { ok: true, viaQuery: false };
  }

  /** Checks Host, Origin and the token. `requireOrigin` is set for WebSocket upgrades. */
  check(req: IncomingMessage, url: URL, requireOrigin = false): AccessVerdict {
    const origin = this.checkOrigin(req, requireOrigin);
    if (!origin.ok) return origin;
    const fromQuery = url.searchParams.get('token');
    if (fromQuery !== null && sameSecret(fromQuery, this.token)) return { ok: true, viaQuery: true };
    const fromHeader = req.headers[TOKEN_HEADER];
    if (typeof fromHeader === 'string' && sameSecret(fromHeader, this.token)) return { ok: true, viaQuery: false };
    return { ok: false, status: 401, reason: 'missing or wrong access token: open the URL printed when the server started' };
  }
}
