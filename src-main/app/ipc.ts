/**
 * The IPC side of the contract: one `ipcMain.handle` per method, each checking who is calling (a window of this
 * app showing the app's own page — never a frame from elsewhere) before the payload is validated by the method's
 * schema inside `AppServices.call`. Job events go to every window on one channel.
 */
import { BrowserWindow, ipcMain, type IpcMainInvokeEvent } from 'electron';
import type { Envelope } from '../contract/api.ts';
import { EVENT_CHANNEL, METHODS, ipcChannel, type MethodName } from '../contract/channels.ts';
import type { AppServices } from '../services/app-services.ts';
import { originOf } from './window.ts';

/** True when an IPC message comes from one of our windows, from a page of the app's own origin. */
export function isTrustedSender(event: IpcMainInvokeEvent, appOrigins: readonly string[]): boolean {
  if (!BrowserWindow.fromWebContents(event.sender)) return false;
  const origin = originOf(event.senderFrame?.url ?? '');
  return origin !== null && appOrigins.includes(origin);
}

/** Registers a handler for every contract method; returns a function that removes them. */
export function setupIpc(services: AppServices, appOrigins: readonly string[]): () => void {
  for (const method of METHODS) {
    ipcMain.handle(ipcChannel(method), async (event: IpcMainInvokeEvent, payload: unknown): Promise<Envelope<MethodName>> => {
      if (!isTrustedSender(event, appOrigins)) {
        return { ok: false, error: `${method}: refused: the request does not come from a Caption Studio window`, code: 'validation' };
      }
      return services.call(method, payload);
    });
  }
  return () => {
    for (const method of METHODS) ipcMain.removeHandler(ipcChannel(method));
  };
}

/** Sends every job, model and backend event to all open windows; returns the unsubscribe function. */
export function setupEventForwarding(services: AppServices): () => void {
  return services.subscribe((event) => {
    for (const win of BrowserWindow.getAllWindows()) {
      if (!win.isDestroyed() && !win.webContents.isDestroyed()) win.webContents.send(EVENT_CHANNEL, event);
    }
  });
}
