/**
 * The preload: exposes one small typed API (`window.captionStudio`, see contract/api.ts PreloadBridge) through
 * contextBridge. The renderer never sees ipcRenderer; it can only invoke the contract's methods, listen to job
 * events and resolve a dropped File to its path. Runs sandboxed, bundled to CommonJS.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { PreloadBridge } from '../contract/api.ts';
import { EVENT_CHANNEL, ipcChannel, isMethodName } from '../contract/channels.ts';
import type { JobEvent } from '../contract/types.ts';

const bridge: PreloadBridge = {
  platform: process.platform,
  invoke(method, request) {
    if (!isMethodName(method)) return Promise.resolve({ ok: false, error: `unknown method ${String(method)}`, code: 'validation' });
    return ipcRenderer.invoke(ipcChannel(method), request);
  },
  onEvent(listener) {
    const handler = (_event: IpcRendererEvent, payload: JobEvent): void => listener(payload);
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.removeListener(EVENT_CHANNEL, handler);
    };
  },
  pathForFile(file) {
    return webUtils.getPathForFile(file);
  },
};

contextBridge.exposeInMainWorld('captionStudio', bridge);
