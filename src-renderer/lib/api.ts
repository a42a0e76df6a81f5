/**
 * The renderer's one client for the backend, over either transport: the Electron preload bridge
 * (`window.captionStudio`, IPC underneath) or HTTP + WebSocket in browser mode. Views call `api.call(...)`
 * and never know which one runs.
 */
import { ApiError, type Envelope, type PreloadBridge, type ResponseOf } from '../../src-main/contract/api.ts';
import { HTTP_ROUTES, MEDIA_SCHEME, TOKEN_HEADER, type MethodName } from '../../src-main/contract/channels.ts';
import type { RequestOf } from '../../src-main/contract/schemas.ts';
import type { ApiErrorBody, AppMode, JobEvent } from '../../src-main/contract/types.ts';

export { ApiError };

export interface Transport {
  readonly mode: AppMode;
  call<M extends MethodName>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>>;
  /** Job and model events; returns the unsubscribe function. */
  onEvent(listener: (event: JobEvent) => void): () => void;
  /** Connection state of the event stream (browser mode reconnects by itself). */
  onConnection(listener: (connected: boolean) => void): () => void;
  /**
   * The page's session has ended for good (browser mode: the server was restarted, so this page's access token is
   * no longer valid); told once, with a message for the user. Nothing reconnects after it.
   */
  onSessionEnded(listener: (message: string) => void): () => void;
  imageUrl(path: string): string;
  thumbUrl(path: string, size: number): string;
  /** A URL that downloads a file the backend wrote in this session. */
  downloadUrl(path: string): string;
  /** Backend paths for files from a drop, a paste or a file input: their own paths, or uploaded copies. */
  pathsForFiles(files: readonly File[], onProgress?: (done: number, total: number) => void): Promise<string[]>;
}

declare global {
  interface Window {
    captionStudio?: PreloadBridge;
  }
}

function unwrap<M extends MethodName>(envelope: Envelope<M>): ResponseOf<M> {
  if (envelope.ok) return envelope.value;
  throw new ApiError(envelope.error, envelope.code);
}

async function toBase64(file: Blob): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Runs `fn` over items, `limit` at a time, keeping order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>, onDone?: (done: number) => void): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

class ElectronTransport implements Transport {
  readonly mode = 'electron' as const;
  constructor(private readonly bridge: PreloadBridge) {}

  async call<M extends MethodName>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
    return unwrap(await this.bridge.invoke(method, request));
  }
  onEvent(listener: (event: JobEvent) => void): () => void {
    return this.bridge.onEvent(listener);
  }
  onConnection(listener: (connected: boolean) => void): () => void {
    listener(true);
    return () => {};
  }
  onSessionEnded(): () => void {
    return () => {}; // the window and its backend end together
  }
  imageUrl(path: string): string {
    return `${MEDIA_SCHEME}://image/?path=${encodeURIComponent(path)}`;
  }
  thumbUrl(path: string, size: number): string {
    return `${MEDIA_SCHEME}://thumb/?path=${encodeURIComponent(path)}&size=${size}`;
  }
  downloadUrl(path: string): string {
    return `${MEDIA_SCHEME}://download/?path=${encodeURIComponent(path)}`;
  }
  async pathsForFiles(files: readonly File[], onProgress?: (done: number, total: number) => void): Promise<string[]> {
    return mapLimit(
      files,
      2,
      async (file) => this.bridge.pathForFile(file) || (await this.call('files.upload', { name: file.name || 'pasted.png', base64: await toBase64(file) })).path,
      (done) => onProgress?.(done, files.length),
    );
  }
}

/** What the user is told when the server no longer accepts this page's token. */
export const SESSION_ENDED =
  'This page\'s session has ended: the Caption Studio server was restarted or stopped. Open the address it printed when it started (it carries a new access token).';

/** A failed fetch (no server listening) as the one-line error the views show. */
function unreachable(): ApiError {
  return new ApiError('the Caption Studio server cannot be reached (was it stopped?)', 'failed');
}

/** Where the page keeps its access token: sessionStorage is per origin (the port included) and per tab. */
const TOKEN_KEY = 'caption-studio-token';

/**
 * The browser-mode access token: taken from the address the server printed (`?token=…`, then removed from the
 * address bar and history), or kept from earlier in this tab. It goes with every request as a header, and in the
 * query where a header cannot be set (the WebSocket, <img> and download URLs). Never a cookie: cookies are shared
 * by every port of 127.0.0.1, so any other local service would receive it.
 */
function sessionToken(): string {
  const url = new URL(location.href);
  const given = url.searchParams.get('token');
  if (given) {
    try {
      sessionStorage.setItem(TOKEN_KEY, given);
    } catch {
      // storage refused: the token lives as long as the page
    }
    url.searchParams.delete('token');
    history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    return given;
  }
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

class HttpTransport implements Transport {
  readonly mode = 'browser' as const;
  private readonly listeners = new Set<(event: JobEvent) => void>();
  private readonly connectionListeners = new Set<(connected: boolean) => void>();
  private readonly endedListeners = new Set<(message: string) => void>();
  private connected = false;
  private ended = false;
  private readonly token = sessionToken();

  constructor() {
    this.connect(0);
  }

  /** `route` with `params` and the token in its query (for what cannot send a header). */
  private withToken(route: string, params: Record<string, string>): string {
    return `${route}?${new URLSearchParams({ ...params, token: this.token }).toString()}`;
  }

  private connect(attempt: number): void {
    const url = new URL(this.withToken(HTTP_ROUTES.events, {}), location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url);
    ws.onopen = () => this.setConnected(true);
    ws.onmessage = (message) => {
      let event: JobEvent;
      try {
        event = JSON.parse(String(message.data)) as JobEvent;
      } catch {
        return;
      }
      for (const listener of this.listeners) listener(event);
    };
    ws.onclose = () => {
      const wasConnected = this.connected;
      this.setConnected(false);
      setTimeout(() => void this.reconnect(wasConnected ? 0 : attempt + 1), Math.min(5000, 250 * 2 ** attempt));
    };
  }

  /** Connects again, unless the server answers that this page's token is no longer valid. */
  private async reconnect(attempt: number): Promise<void> {
    if (this.ended) return;
    const res = await fetch(`${HTTP_ROUTES.call}app.info`, { method: 'POST', headers: { 'content-type': 'application/json', [TOKEN_HEADER]: this.token }, body: '{}', credentials: 'omit' }).catch(() => null);
    if (res?.status === 401) return this.endSession();
    this.connect(attempt);
  }

  /** A 401 means this page's token is gone for good: the session ends, and the call fails saying so. */
  private refuseIfEnded(res: Response): void {
    if (res.status !== 401) return;
    this.endSession();
    throw new ApiError(SESSION_ENDED, 'failed');
  }

  private endSession(): void {
    if (this.ended) return;
    this.ended = true;
    for (const listener of this.endedListeners) listener(SESSION_ENDED);
  }

  private setConnected(value: boolean): void {
    if (value === this.connected) return;
    this.connected = value;
    for (const listener of this.connectionListeners) listener(value);
  }

  async call<M extends MethodName>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
    let res: Response;
    try {
      res = await fetch(`${HTTP_ROUTES.call}${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [TOKEN_HEADER]: this.token },
        body: JSON.stringify(request ?? {}),
        credentials: 'omit',
      });
    } catch {
      throw unreachable();
    }
    if (res.ok) return (await res.json()) as ResponseOf<M>;
    this.refuseIfEnded(res);
    const body = (await res.json().catch(() => null)) as ApiErrorBody | null;
    throw new ApiError(body?.error ?? `${method}: HTTP ${res.status}`, body?.code ?? 'failed');
  }
  onEvent(listener: (event: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  onConnection(listener: (connected: boolean) => void): () => void {
    this.connectionListeners.add(listener);
    listener(this.connected);
    return () => this.connectionListeners.delete(listener);
  }
  onSessionEnded(listener: (message: string) => void): () => void {
    this.endedListeners.add(listener);
    if (this.ended) listener(SESSION_ENDED);
    return () => this.endedListeners.delete(listener);
  }
  imageUrl(path: string): string {
    return this.withToken(HTTP_ROUTES.image, { path });
  }
  thumbUrl(path: string, size: number): string {
    return this.withToken(HTTP_ROUTES.thumb, { path, size: String(size) });
  }
  downloadUrl(path: string): string {
    return this.withToken(HTTP_ROUTES.download, { path });
  }
  async pathsForFiles(files: readonly File[], onProgress?: (done: number, total: number) => void): Promise<string[]> {
    return mapLimit(
      files,
      3,
      async (file) => {
        const res = await fetch(HTTP_ROUTES.upload, {
          method: 'POST',
          headers: { 'x-file-name': encodeURIComponent(file.name || 'pasted.png'), 'content-type': 'application/octet-stream', [TOKEN_HEADER]: this.token },
          body: file,
          credentials: 'omit',
        }).catch(() => {
          throw unreachable();
        });
        this.refuseIfEnded(res);
        const body = (await res.json().catch(() => null)) as { path?: string; error?: string } | null;
        if (!res.ok || !body?.path) throw new ApiError(body?.error ?? `upload of ${file.name} failed (HTTP ${res.status})`, 'failed');
        return body.path;
      },
      (done) => onProgress?.(done, files.length),
    );
  }
}

/** The transport for this window: the preload bridge when present, else HTTP. */
export const api: Transport = window.captionStudio ? new ElectronTransport(window.captionStudio) : new HttpTransport();
