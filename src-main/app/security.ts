/**
 * Process-wide safety nets: a strict Content-Security-Policy header on every response the renderer receives,
 * permission requests denied (except writing to the clipboard, for the Copy buttons), and for every web contents
 * ever created: navigation away from the app blocked, new windows denied, <webview> refused.
 */
import { app, type Session, type WebContents } from 'electron';
import { MEDIA_SCHEME } from '../contract/channels.ts';
import { contentSecurityPolicy } from '../contract/csp.ts';

/** The policy the Electron renderer runs under. */
export const ELECTRON_CSP = contentSecurityPolicy([`${MEDIA_SCHEME}:`]);

/** Adds the CSP header to every response and answers permission requests. */
export function setupSessionSecurity(session: Session): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...(details.responseHeaders ?? {}), 'Content-Security-Policy': [ELECTRON_CSP] } });
  });
  session.setPermissionRequestHandler((_contents, permission, callback) => callback(permission === 'clipboard-sanitized-write'));
  session.setPermissionCheckHandler((_contents, permission) => permission === 'clipboard-sanitized-write');
}

/** Locks down one web contents: only `isAppUrl` pages may load in it; no new windows; no webviews. */
export function guardWebContents(contents: WebContents, isAppUrl: (url: string) => boolean): void {
  contents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-redirect', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/** Applies `guardWebContents` to every web contents the app creates from now on. */
export function setupNavigationGuards(isAppUrl: (url: string) => boolean): void {
  app.on('web-contents-created', (_event, contents) => guardWebContents(contents, isAppUrl));
}
