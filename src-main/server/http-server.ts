/**
 * Browser mode: the same backend as the desktop app, over HTTP + WebSocket on 127.0.0.1. Every request passes
 * the access guard (Host, Origin, token); calls go to `AppServices.call` (so payloads are validated by the same
 * schemas as IPC); images and thumbnails are served only from folders the user opened or dropped; dropped files
 * are uploaded into the session's upload folder; job events stream over the WebSocket.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { HTTP_ROUTES, isMethodName } from '../contract/channels.ts';
import { contentSecurityPolicy } from '../contract/csp.ts';
import type { ApiErrorCode, JobEvent } from '../contract/types.ts';
import type { AppServices } from '../services/app-services.ts';
import { ForbiddenPathError } from '../contract/errors.ts';
import { UploadRefused } from '../services/upload-store.ts';
import { contentType, readStatic } from './static-files.ts';
import { AccessGuard, newToken } from './access-guard.ts';
import { imageMimeType } from '../util/image-files.ts';

export interface ServerOptions {
  readonly services: AppServices;
  /** Folder of the built renderer (index.html + assets). */
  readonly rendererDir: string;
  /** 0 (default) picks a free port. */
  readonly port?: number;
  /** Fixed token (tests); default a fresh random one. */
  readonly token?: string;
}

export interface RunningServer {
  readonly port: number;
  readonly token: string;
  /** The URL to open, token included. */
  readonly url: string;
  close(): Promise<void>;
}

const MAX_JSON_BYTES = 32 * 1024 * 1024;
const STATUS: Record<ApiErrorCode, number> = { validation: 400, 'not-found': 404, unsupported: 501, conflict: 409, failed: 500 };

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': contentSecurityPolicy(),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: ApiErrorCode = 'validation',
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: string | Buffer, type: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, 'content-length': String(Buffer.byteLength(body)), ...extra });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8', { 'cache-control': 'no-store' });
}

function sendError(res: ServerResponse, status: number, error: string, code: ApiErrorCode): void {
  sendJson(res, status, { error, code });
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new HttpError(413, `request body is over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body is over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Starts the server on 127.0.0.1 and resolves once it listens. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { services } = options;
  const token = options.token ?? newToken();
  let guard: AccessGuard | null = null;
  const sockets = new Set<WebSocket>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    // Every API route needs the token; the page and its assets (no data in them) only this server's Host and
    // Origin. The page takes the token from its address and sends it with each request (no cookie: see
    // access-guard.ts).
    const verdict = url.pathname.startsWith('/api/') ? guard!.check(req, url) : guard!.checkOrigin(req);
    if (!verdict.ok) {
      if (url.pathname.startsWith('/api/')) sendError(res, verdict.status, verdict.reason, 'validation');
      else send(res, verdict.status, `${verdict.status === 401 ? 'Unauthorized' : 'Forbidden'}: ${verdict.reason}\n`, 'text/plain; charset=utf-8');
      return;
    }
    const p = url.pathname;
    if (p.startsWith(HTTP_ROUTES.call)) {
      if (req.method !== 'POST') throw new HttpError(405, 'use POST for calls');
      const method = p.slice(HTTP_ROUTES.call.length);
      if (!isMethodName(method)) throw new HttpError(404, `unknown method "${method}"`, 'not-found');
      const body = await readBody(req, MAX_JSON_BYTES);
      let payload: unknown;
      try {
        payload = body.length ? JSON.parse(body.toString('utf8')) : {};
      } catch (err) {
        throw new HttpError(400, `${method}: request body is not valid JSON (${(err as Error).message})`);
      }
      const result = await services.call(method, payload);
      if (result.ok) sendJson(res, 200, result.value);
      else sendError(res, STATUS[result.code], result.error, result.code);
      return;
    }
    if (p === HTTP_ROUTES.upload) {
      if (req.method !== 'POST') throw new HttpError(405, 'use POST to upload');
      const rawName = req.headers['x-file-name'];
      if (typeof rawName !== 'string' || !rawName) throw new HttpError(400, 'upload: missing X-File-Name header');
      let name: string;
      try {
        name = decodeURIComponent(rawName);
      } catch {
        throw new HttpError(400, 'upload: X-File-Name is not URI-encoded');
      }
      // Streamed to disk as it arrives (never buffered whole); limits per file, at once and per session.
      const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
      sendJson(res, 200, { path: await services.uploads.saveStream(name, req, declared) });
      return;
    }
    if (p === HTTP_ROUTES.image || p === HTTP_ROUTES.thumb || p === HTTP_ROUTES.download) {
      if (req.method !== 'GET') throw new HttpError(405, 'use GET');
      const requested = url.searchParams.get('path') ?? '';
      if (p === HTTP_ROUTES.download) {
        const file = await services.media.resolveOutput(requested);
        send(res, 200, await readFile(file), contentType(file), {
          'content-disposition': `attachment; filename="${path.basename(file).replace(/[^\w.-]/g, '_')}"`,
          'cache-control': 'no-store',
        });
        return;
      }
      const file = await services.media.resolveImage(requested);
      if (p === HTTP_ROUTES.image) {
        send(res, 200, await readFile(file), imageMimeType(file), { 'cache-control': 'private, no-cache' });
        return;
      }
      const size = Number(url.searchParams.get('size') ?? 160);
      if (!Number.isInteger(size) || size < 16 || size > 1024) throw new HttpError(400, 'thumb: size must be an integer from 16 to 1024');
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      const thumb = await services.thumbnails.get(file, size, abort.signal);
      if (req.headers['if-none-match'] === thumb.etag) {
        res.writeHead(304, { ...SECURITY_HEADERS, etag: thumb.etag });
        res.end();
        return;
      }
      send(res, 200, thumb.data, thumb.mime, { etag: thumb.etag, 'cache-control': 'private, max-age=3600' });
      return;
    }
    if (p.startsWith('/api/')) throw new HttpError(404, `no route ${p}`, 'not-found');
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'use GET');
    const file = await readStatic(options.rendererDir, p);
    if (!file) {
      if (p === '/' || p === '/index.html') {
        throw new HttpError(500, `the renderer is not built (no ${path.join(options.rendererDir, 'index.html')}): run npm run build`, 'failed');
      }
      throw new HttpError(404, `not found: ${p}`, 'not-found');
    }
    send(res, 200, file.data, file.type, { 'cache-control': file.cacheControl });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) sendError(res, err.status, err.message, err.code);
      else if (err instanceof UploadRefused) {
        sendError(res, err.status, err.message, 'validation');
        req.resume(); // drain what the client still sends, so that it reads the answer
      }
      else if (err instanceof ForbiddenPathError) sendError(res, 403, err.message, 'validation');
      else sendError(res, 500, (err instanceof Error ? err.message : String(err)).split('\n')[0]!, 'failed');
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const verdict = guard!.check(req, url, true);
    if (url.pathname !== HTTP_ROUTES.events || !verdict.ok) {
      const status = !verdict.ok ? verdict.status : 404;
      socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Not Found'}\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', () => {}); // the socket only streams events to the page
    });
  });
  const unsubscribe = services.subscribe((event: JobEvent) => {
    const text = JSON.stringify(event);
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(text);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  guard = new AccessGuard(token, port);
  return {
    port,
    token,
    url: `http://127.0.0.1:${port}/?token=${token}`,
    close: async () => {
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
