/**
 * Which page the main window loads, and which origins IPC trusts: always the app's own `cs-app://renderer`
 * origin; a development server named by `ELECTRON_RENDERER_URL` only in an unpackaged (development) run, and only
 * on this machine's loopback over http. A packaged app ignores the variable, so nobody can point an installed
 * Caption Studio at a page of their own and have its origin trusted for IPC.
 */

/** The origin the renderer is served from (see protocol.ts). */
export const APP_SCHEME = 'cs-app';
export const RENDERER_ORIGIN = `${APP_SCHEME}://renderer`;
export const RENDERER_URL = `${RENDERER_ORIGIN}/index.html`;

/**
 * `scheme://host` of a URL. (WHATWG URL gives custom schemes such as cs-app: the origin "null", so `.origin`
 * cannot be compared.) Null for a malformed URL.
 */
export function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    return u.host ? `${u.protocol}//${u.host}` : null;
  } catch {
    return null;
  }
}

export interface RendererTarget {
  /** The URL the window loads. */
  readonly url: string;
  /** The origins whose pages may call the backend over IPC and navigate within the app. */
  readonly origins: readonly string[];
  /** Why `ELECTRON_RENDERER_URL` was ignored, when it was set and ignored. */
  readonly ignored: string | null;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export function rendererTarget(devUrl: string | undefined, isPackaged: boolean): RendererTarget {
  const app: RendererTarget = { url: RENDERER_URL, origins: [RENDERER_ORIGIN], ignored: null };
  if (!devUrl) return app;
  if (isPackaged) return { ...app, ignored: 'ELECTRON_RENDERER_URL is ignored in a packaged app' };
  let parsed: URL;
  try {
    parsed = new URL(devUrl);
  } catch {
    return { ...app, ignored: `ELECTRON_RENDERER_URL is not a URL: ${devUrl}` };
  }
  const origin = originOf(devUrl);
  if (parsed.protocol !== 'http:' || !LOOPBACK.has(parsed.hostname) || origin === null) {
    return { ...app, ignored: `ELECTRON_RENDERER_URL must be an http URL on localhost: ${devUrl}` };
  }
  return { url: devUrl, origins: [RENDERER_ORIGIN, origin], ignored: null };
}
