/**
 * The main window: every web preference that matters for safety set explicitly (context isolation, sandbox, no
 * Node in the renderer, web security on, no <webview>, no navigation by dropping a file), the preload as the only
 * bridge, and the renderer loaded from the app's own `cs-app://` origin.
 */
import { BrowserWindow, dialog, type BrowserWindowConstructorOptions } from 'electron';

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

/** The page background of each theme (app.css `--bg`), painted before the renderer has loaded. */
export const WINDOW_BACKGROUND = { light: '#f6f7fb', dark: '#0f1220' } as const;

/** The window's options (exported so tests can assert them). */
export function mainWindowOptions(preloadPath: string, iconPath?: string, dark = false): BrowserWindowConstructorOptions {
  return {
    width: 1360,
    height: 880,
    minWidth: 960,
    minHeight: 640,
    show: false,
    title: 'Caption Studio',
    backgroundColor: dark ? WINDOW_BACKGROUND.dark : WINDOW_BACKGROUND.light,
    ...(iconPath ? { icon: iconPath } : {}),
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: true,
    },
  };
}

/**
 * Opens the main window on `url` and shows it once it has painted. When the page asks to stay (unsaved caption
 * edits: its beforeunload handler), Electron shows nothing by itself and the window would simply not close, so
 * the user is asked here.
 */
export function createMainWindow(preloadPath: string, url: string, iconPath?: string, dark = false): BrowserWindow {
  const win = new BrowserWindow(mainWindowOptions(preloadPath, iconPath, dark));
  win.once('ready-to-show', () => win.show());
  win.webContents.on('will-prevent-unload', (event: { preventDefault(): void }) => {
    const choice = dialog.showMessageBoxSync(win, {
      type: 'question',
      buttons: ['Discard edits and close', 'Stay'],
      defaultId: 1,
      cancelId: 1,
      title: 'Unsaved caption edits',
      message: 'Some caption edits are not saved yet.',
      detail: 'Close anyway and lose them, or stay and save them (Ctrl+S in Datasets)?',
    });
    if (choice === 0) event.preventDefault(); // preventing the prevention lets the page unload
  });
  void win.loadURL(url);
  return win;
}
