/**
 * The names of every operation the UI can ask of the backend, defined once and shared by the Electron main
 * process, the preload, the HTTP server and the renderer. Kept free of imports so the sandboxed preload and the
 * renderer bundle can use it.
 */

/** Every request/response method of the contract, as `area.verb`. */
export const METHODS = [
  'app.info',
  'settings.get',
  'settings.update',
  'backends.list',
  'fs.list',
  'files.upload',
  'dialog.open',
  'caption.start',
  'caption.explain',
  'dataset.open',
  'dataset.items',
  'dataset.save',
  'dataset.close',
  'train.plan',
  'train.start',
  'compare.start',
  'export.start',
  'captions.write',
  'dataset.convert',
  'models.list',
  'models.import',
  'models.export',
  'models.delete',
  'jobs.list',
  'jobs.cancel',
  'jobs.pause',
  'jobs.resume',
] as const;

export type MethodName = (typeof METHODS)[number];

/** True when `name` is one of the contract's methods. */
export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && (METHODS as readonly string[]).includes(name);
}

/** The Electron IPC channel that carries one method (`ipcMain.handle` / `ipcRenderer.invoke`). */
export function ipcChannel(method: MethodName): `cs:${MethodName}` {
  return `cs:${method}`;
}

/** The Electron IPC channel on which the main process pushes job events to the renderer. */
export const EVENT_CHANNEL = 'cs:event';

/** The URL scheme through which the Electron renderer loads local images and thumbnails. */
export const MEDIA_SCHEME = 'cs-media';

/** HTTP paths of the browser mode, relative to the server's origin. */
export const HTTP_ROUTES = {
  /** POST a JSON request to `/api/call/<method>`. */
  call: '/api/call/',
  /** POST a raw file body with `X-File-Name` to store a dropped file in the session's upload folder. */
  upload: '/api/upload',
  /** GET `?path=` an image inside an opened folder. */
  image: '/api/image',
  /** GET `?path=&size=` a cached JPEG thumbnail of such an image. */
  thumb: '/api/thumb',
  /** GET `?path=` a file this session wrote (an export, a model archive). */
  download: '/api/download',
  /** The WebSocket that streams job events. */
  events: '/api/events',
} as const;

/** The header that carries the browser-mode session token (there is no cookie: see server/access-guard.ts). */
export const TOKEN_HEADER = 'x-caption-studio-token';
