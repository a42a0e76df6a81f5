/**
 * Who may talk to the browser-mode server: requests must name this server in `Host` (127.0.0.1 or localhost at
 * its port — anything else smells of DNS rebinding), may only come from its own `Origin`, and must carry the
 * per-run token: in the `?token=` query (accepted once, then turned into a cookie), the cookie, or a header.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TOKEN_COOKIE, TOKEN_HEADER } from '../contract/channels.ts';

/** A fresh random token (32 bytes, URL-safe base64). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Parses a Cookie header into name → value. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), decodeURIComponent(part.slice(eq + 1).trim()));
  }
  return out;
}

export type AccessVerdict =
  | { readonly ok: true; readonly viaQuery: boolean }
  | { readonly ok: false; readonly status: 401 | 403; readonly reason: string };

export class AccessGuard {
  /** The cookie name includes the port, so two servers on one machine do not overwrite each other's token. */
  readonly cookieName: string;

  constructor(
    readonly token: string,
    readonly port: number,
  ) {
    this.cookieName = `${TOKEN_COOKIE}_${port}`;
  }

  /** The hosts this server answers to. */
  allowedHosts(): string[] {
    return [`127.0.0.1:${this.port}`, `localhost:${this.port}`];
  }

  /** Checks Host, Origin and the token. `requireOrigin` is set for WebSocket upgrades. */
  check(req: IncomingMessage, url: URL, requireOrigin = false): AccessVerdict {
    const host = (req.headers.host ?? '').toLowerCase();
    if (!this.allowedHosts().includes(host)) return { ok: false, status: 403, reason: `unexpected Host header "${host}"` };
    const origin = req.headers.origin;
    if (origin !== undefined || requireOrigin) {
      const allowed = this.allowedHosts().map((h) => `http://${h}`);
      if (!origin || !allowed.includes(origin.toLowerCase())) return { ok: false, status: 403, reason: `unexpected Origin "${origin ?? ''}"` };
    }
    const fromQuery = url.searchParams.get('token');
    if (fromQuery !== null && sameSecret(fromQuery, this.token)) return { ok: true, viaQuery: true };
    const fromHeader = req.headers[TOKEN_HEADER];
    if (typeof fromHeader === 'string' && sameSecret(fromHeader, this.token)) return { ok: true, viaQuery: false };
    const fromCookie = parseCookies(req.headers.cookie).get(this.cookieName);
    if (fromCookie !== undefined && sameSecret(fromCookie, this.token)) return { ok: true, viaQuery: false };
    return { ok: false, status: 401, reason: 'missing or wrong access token: open the URL printed when the server started' };
  }

  /** The Set-Cookie value that stores the token for this origin only. */
  cookie(): string {
    return `${this.cookieName}=${this.token}; Path=/; HttpOnly; SameSite=Strict`;
  }
}
