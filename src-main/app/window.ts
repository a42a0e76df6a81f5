/**
 * The main window: every web preference that matters for safety set explicitly (context isolation, sandbox, no
 * Node in the renderer, web security on, no <webview>, no navigation by dropping a file), the preload as the only
 * bridge, and the renderer loaded from the app's own `cs-app://` origin.
 */
import { BrowserWindow, dialog } from 'electron';

export { APP_SCHEME, originOf, RENDERER_ORIGIN, RENDERER_URL } from './renderer-url.ts';

/** The page background of each theme (app.css `--bg`), painted before the renderer has loaded. */
export const WINDOW_BACKGROUND = { light: '#f6f7fb', dark: '#0f1220' } as const;

/**
 * Opens the main window on `url` and shows it once it has painted. When the page asks to stay (unsaved caption
 * edits: its beforeunload handler), Electron shows nothing by itself and the window would simply not close, so
 * the user is asked here.
 */
export function createMainWindow(preloadPath: string, url: string, iconPath?: string, dark = false): BrowserWindow {
  // One object literal at the `new BrowserWindow` call, so that Electronegativity (test/app/electronegativity.test.ts)
  // sees every web preference; do not build these options in a helper.
  const win = new BrowserWindow({
    width: 1360,
    height: 880,
    minWidth: 960,
    minHeight: 640,
    show: false,
    title: 'Caption Studio',
    backgroundColor: dark ? WINDOW_BACKGROUND.dark : WINDOW_BACKGROUND.light,
    ...(iconPath ? { icon: iconPath } : {}),
    webPreferences: {
      // Reviewed (Electronegativity asks for a manual review of every preload): src-main/preload exposes four
      // functions over contextBridge and requires nothing but electron (test/app/electron-boot.test.ts).
      preload: preloadPath, // eng-disable PRELOAD_JS_CHECK
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      // Middle-click (auxclick) can open links in new windows behind the navigation guards' back.
      disableBlinkFeatures: 'Auxclick',
      spellcheck: true,
    },
  });
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
