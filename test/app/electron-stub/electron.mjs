/**
 * A stand-in for the `electron` module, in plain JavaScript, for booting the real bundles (out/main/index.js and
 * out/preload/index.cjs) in Node where the Electron binary cannot be installed. It keeps what the app did in
 * `state`, and routes the preload's ipcRenderer.invoke to the handlers the main process registered, with the
 * window's webContents as the sender (as Electron does for a page in that window).
 */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const state = {
  windows: [],
  ipc: new Map(),
  protocols: new Map(),
  privileged: [],
  exposed: new Map(),
  rendererListeners: new Map(),
  sessionHooks: [],
  menu: null,
  quitting: false,
  quitted: false,
  userData: mkdtempSync(path.join(os.tmpdir(), 'cs-electron-stub-')),
};

let nextId = 1;
class WebContents extends EventEmitter {
  constructor() {
    super();
    this.id = nextId++;
    this.url = '';
    this.openHandler = null;
  }
  send(channel, payload) {
    for (const listener of state.rendererListeners.get(channel) ?? []) listener({ sender: null }, payload);
  }
  getURL() {
    return this.url;
  }
  isDestroyed() {
    return false;
  }
  setWindowOpenHandler(handler) {
    this.openHandler = handler;
  }
  openDevTools() {}
}

export class BrowserWindow extends EventEmitter {
  constructor(options) {
    super();
    this.options = options;
    this.webContents = new WebContents();
    state.windows.push(this);
    app.emit('web-contents-created', { preventDefault() {} }, this.webContents);
  }
  static getAllWindows() {
    return [...state.windows];
  }
  static fromWebContents(contents) {
    return state.windows.find((w) => w.webContents === contents) ?? null;
  }
  loadURL(url) {
    this.webContents.url = url;
    queueMicrotask(() => this.emit('ready-to-show'));
    return Promise.resolve();
  }
  isDestroyed() {
    return false;
  }
  isMinimized() {
    return false;
  }
  show() {}
  focus() {}
  restore() {}
}

class App extends EventEmitter {
  isPackaged = false;
  requestSingleInstanceLock() {
    return true;
  }
  whenReady() {
    return Promise.resolve();
  }
  getPath(name) {
    return path.join(state.userData, name);
  }
  getAppPath() {
    return process.env.CS_STUB_APP_PATH ?? process.cwd();
  }
  getVersion() {
    return '0.0.0-stub';
  }
  quit() {
    if (state.quitted) return;
    let prevented = false;
    this.emit('before-quit', { preventDefault: () => (prevented = true) });
    if (prevented) return;
    state.quitted = true;
    this.emit('quit');
    rmSync(state.userData, { recursive: true, force: true });
  }
}
export const app = new App();

export const session = {
  defaultSession: {
    webRequest: { onHeadersReceived: (fn) => state.sessionHooks.push(['headers', fn]) },
    setPermissionRequestHandler: (fn) => state.sessionHooks.push(['permission-request', fn]),
    setPermissionCheckHandler: (fn) => state.sessionHooks.push(['permission-check', fn]),
  },
};
export const protocol = {
  registerSchemesAsPrivileged: (schemes) => state.privileged.push(...schemes),
  handle: (scheme, handler) => state.protocols.set(scheme, handler),
};
export const ipcMain = {
  handle: (channel, handler) => state.ipc.set(channel, handler),
  removeHandler: (channel) => state.ipc.delete(channel),
};
export const ipcRenderer = {
  invoke(channel, ...args) {
    const handler = state.ipc.get(channel);
    if (!handler) return Promise.reject(new Error(`No handler registered for '${channel}'`));
    const win = state.windows[0];
    return Promise.resolve(handler({ sender: win.webContents, senderFrame: { url: win.webContents.url } }, ...args));
  },
  on(channel, listener) {
    state.rendererListeners.set(channel, [...(state.rendererListeners.get(channel) ?? []), listener]);
    return this;
  },
  removeListener(channel, listener) {
    state.rendererListeners.set(channel, (state.rendererListeners.get(channel) ?? []).filter((l) => l !== listener));
    return this;
  },
};
export const contextBridge = { exposeInMainWorld: (key, api) => state.exposed.set(key, api) };
export const webUtils = { getPathForFile: (file) => file.path ?? '' };
export const dialog = {
  showOpenDialog: async () => ({ canceled: true, filePaths: [] }),
  showSaveDialog: async () => ({ canceled: true, filePath: '' }),
};
export const Menu = { buildFromTemplate: (template) => template, setApplicationMenu: (menu) => (state.menu = menu) };
export const nativeTheme = { shouldUseDarkColors: true };
export default { app, BrowserWindow, session, protocol, ipcMain, ipcRenderer, contextBridge, webUtils, dialog, Menu, nativeTheme };
