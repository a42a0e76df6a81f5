/**
 * The Electron main process: registers the custom schemes, then once ready sets up security, the backend
 * services (jobs run in worker threads, so this process stays responsive), the protocols, IPC and the window.
 * Each part is a `setupXxx()` of its own module.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, nativeTheme, session } from 'electron';
import { AppServices } from '../services/app-services.ts';
import { confirmOverwrite, openDialog } from './dialogs.ts';
import { setupEventForwarding, setupIpc } from './ipc.ts';
import { setupMenu } from './menu.ts';
import { registerSchemes, setupProtocols } from './protocol.ts';
import { setupNavigationGuards, setupSessionSecurity } from './security.ts';
import { rendererTarget } from './renderer-url.ts';
import { createMainWindow, originOf } from './window.ts';

// Bundled as out/main/index.js; the preload is out/preload/index.cjs and the renderer out/renderer/.
const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, '..');
// A development server's page is loaded (and trusted for IPC) only in an unpackaged run.
const renderer = rendererTarget(process.env.ELECTRON_RENDERER_URL, app.isPackaged);
if (renderer.ignored) console.warn(renderer.ignored);

if (app.isPackaged) {
  // models/ ships as extra resources beside the app, not inside it.
  const { resourcesPath } = process as NodeJS.Process & { resourcesPath: string };
  process.env.CAPTION_STUDIO_MODELS_DIR ??= path.join(resourcesPath, 'models');
}

const appOrigins = renderer.origins;
const isAppUrl = (url: string): boolean => {
  const origin = originOf(url);
  return origin !== null && appOrigins.includes(origin);
};

registerSchemes();
setupNavigationGuards(isAppUrl);

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  let services: AppServices | null = null;

  app.on('second-instance', () => {
    const win = BrowserWindow.getAllWindows()[0];
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });

  app.whenReady().then(async () => {
    setupSessionSecurity(session.defaultSession);
    setupMenu();
    services = await AppServices.create({
      mode: 'electron',
      dataDir: app.getPath('userData'),
      cacheDir: path.join(app.getPath('userData'), 'cache'),
      builtinModelsDir: process.env.CAPTION_STUDIO_MODELS_DIR ?? path.join(app.getAppPath(), 'models'),
      uploadDir: path.join(app.getPath('temp'), `caption-studio-${process.pid}`),
      openDialog,
      confirmOverwrite,
      version: app.getVersion(),
    });
    setupProtocols(services, path.join(outDir, 'renderer'));
    setupIpc(services, appOrigins);
    setupEventForwarding(services);
    const icon = path.join(app.getAppPath(), 'assets', 'icon.png');
    // The window's first paint in the theme the page will have (no light flash for dark-theme users).
    const open = async (): Promise<void> => {
      const settings = await services?.call('settings.get', {});
      const theme = settings?.ok ? settings.value.theme : 'system';
      const dark = theme === 'dark' || (theme === 'system' && nativeTheme.shouldUseDarkColors);
      createMainWindow(path.join(outDir, 'preload', 'index.cjs'), renderer.url, icon, dark);
    };
    await open();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) void open();
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  // Ctrl+C on `npm start`, or the system stopping the app: quit as the window's close does, so that a training run
  // writes a checkpoint of where it is (services.close) and is listed as interrupted at the next start.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());

  let closing = false;
  app.on('before-quit', (event) => {
    if (!services || closing) return;
    event.preventDefault();
    closing = true;
    void services.close().finally(() => app.quit());
  });
}
