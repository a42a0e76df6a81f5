/**
 * Two custom URL schemes. `cs-app://renderer/…` serves the built renderer (a real origin, so the CSP's 'self'
 * means the app and nothing else). `cs-media://image|thumb|download/?path=…` serves local images, thumbnails and
 * this session's exports — restricted exactly like the browser mode's image route (MediaAccess: only inside
 * folders the user opened or dropped, realpath-checked, image files only).
 */
import { readFile } from 'node:fs/promises';
import { protocol } from 'electron';
import { MEDIA_SCHEME } from '../contract/channels.ts';
import type { AppServices } from '../services/app-services.ts';
import { ForbiddenPathError } from '../contract/errors.ts';
import { contentType, readStatic } from '../server/static-files.ts';
import { ELECTRON_CSP } from './security.ts';
import { APP_SCHEME, RENDERER_ORIGIN } from './window.ts';
import { imageMimeType } from '../util/image-files.ts';

/** Must run before the app is ready: makes both schemes standard, secure and fetch-able. */
export function registerSchemes(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
    { scheme: MEDIA_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true, stream: true } },
  ]);
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

/** Answers one `cs-media:` request. */
export async function handleMediaRequest(services: AppServices, url: string): Promise<Response> {
  const u = new URL(url);
  const requested = u.searchParams.get('path') ?? '';
  try {
    switch (u.host) {
      case 'image': {
        const file = await services.media.resolveImage(requested);
        return new Response(new Uint8Array(await readFile(file)), { headers: { 'content-type': imageMimeType(file) } });
      }
      case 'thumb': {
        const size = Number(u.searchParams.get('size') ?? 160);
        if (!Number.isInteger(size) || size < 16 || size > 1024) return text(400, 'thumb: size must be an integer from 16 to 1024');
        const thumb = await services.thumbnails.get(await services.media.resolveImage(requested), size);
        return new Response(new Uint8Array(thumb.data), { headers: { 'content-type': thumb.mime } });
      }
      case 'download': {
        const file = await services.media.resolveOutput(requested);
        // The Export view reads the file back with fetch() from the renderer's origin (and only from there).
        return new Response(new Uint8Array(await readFile(file)), { headers: { 'content-type': contentType(file), 'access-control-allow-origin': RENDERER_ORIGIN } });
      }
      default:
        return text(404, `no such media route: ${u.host}`);
    }
  } catch (err) {
    if (err instanceof ForbiddenPathError) return text(403, err.message);
    return text(500, (err as Error).message.split('\n')[0]!);
  }
}

/** Answers one `cs-app:` request from the renderer folder, with the CSP header. */
export async function handleAppRequest(rendererDir: string, url: string): Promise<Response> {
  const u = new URL(url);
  if (u.host !== 'renderer') return text(404, 'not found');
  const file = await readStatic(rendererDir, u.pathname);
  if (!file) return text(404, `not found: ${u.pathname}`);
  return new Response(new Uint8Array(file.data), { headers: { 'content-type': file.type, 'content-security-policy': ELECTRON_CSP } });
}

/** Registers both handlers (after the app is ready). */
export function setupProtocols(services: AppServices, rendererDir: string): void {
  protocol.handle(APP_SCHEME, (request) => handleAppRequest(rendererDir, request.url));
  protocol.handle(MEDIA_SCHEME, (request) => handleMediaRequest(services, request.url));
}
