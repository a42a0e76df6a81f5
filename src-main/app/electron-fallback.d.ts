/**
 * The part of Electron's API that app/ and preload/ use, for type-checking on machines where the optional
 * `electron` package (and its own electron.d.ts) is not installed. Declared as a wildcard module, which
 * TypeScript consults only when 'electron' does not resolve: where Electron is installed its real, complete
 * types win (and the code is checked against them). Signatures follow electron.d.ts of Electron 38.
 */
declare module 'electron*' {
  type Listener = (...args: any[]) => void;

  export interface WebFrameMain {
    readonly url: string;
  }

  export interface Event {
    preventDefault(): void;
    readonly defaultPrevented: boolean;
  }

  export interface WillNavigateEvent extends Event {
    readonly url: string;
  }

  export interface HandlerDetails {
    readonly url: string;
  }

  export type WindowOpenHandlerResponse = { action: 'deny' } | { action: 'allow' };

  export interface WebContents {
    readonly id: number;
    send(channel: string, ...args: any[]): void;
    getURL(): string;
    isDestroyed(): boolean;
    setWindowOpenHandler(handler: (details: HandlerDetails) => WindowOpenHandlerResponse): void;
    on(event: 'will-navigate' | 'will-redirect', listener: (event: WillNavigateEvent, url: string) => void): this;
    on(event: 'will-attach-webview', listener: (event: Event) => void): this;
    on(event: string, listener: Listener): this;
    openDevTools(): void;
  }

  export interface WebPreferences {
    preload?: string;
    contextIsolation?: boolean;
    sandbox?: boolean;
    nodeIntegration?: boolean;
    nodeIntegrationInWorker?: boolean;
    nodeIntegrationInSubFrames?: boolean;
    webSecurity?: boolean;
    allowRunningInsecureContent?: boolean;
    webviewTag?: boolean;
    spellcheck?: boolean;
    navigateOnDragDrop?: boolean;
    disableBlinkFeatures?: string;
    devTools?: boolean;
  }

  export interface BrowserWindowConstructorOptions {
    width?: number;
    height?: number;
    minWidth?: number;
    minHeight?: number;
    show?: boolean;
    title?: string;
    icon?: string;
    backgroundColor?: string;
    autoHideMenuBar?: boolean;
    webPreferences?: WebPreferences;
  }

  export class BrowserWindow {
    constructor(options?: BrowserWindowConstructorOptions);
    static fromWebContents(webContents: WebContents): BrowserWindow | null;
    static getAllWindows(): BrowserWindow[];
    readonly webContents: WebContents;
    loadURL(url: string): Promise<void>;
    show(): void;
    focus(): void;
    restore(): void;
    isMinimized(): boolean;
    isDestroyed(): boolean;
    once(event: 'ready-to-show', listener: () => void): this;
    on(event: string, listener: Listener): this;
  }

  export interface IpcMainInvokeEvent extends Event {
    readonly sender: WebContents;
    readonly senderFrame: WebFrameMain | null;
  }

  export interface IpcMain {
    handle(channel: string, listener: (event: IpcMainInvokeEvent, ...args: any[]) => Promise<any> | any): void;
    removeHandler(channel: string): void;
  }
  export const ipcMain: IpcMain;

  export interface FileFilter {
    name: string;
    extensions: string[];
  }
  export interface OpenDialogOptions {
    title?: string;
    defaultPath?: string;
    buttonLabel?: string;
    filters?: FileFilter[];
    properties?: Array<'openFile' | 'openDirectory' | 'multiSelections' | 'showHiddenFiles' | 'createDirectory' | 'promptToCreate'>;
  }
  export interface SaveDialogOptions {
    title?: string;
    defaultPath?: string;
    buttonLabel?: string;
    filters?: FileFilter[];
    properties?: Array<'showHiddenFiles' | 'createDirectory' | 'treatPackageAsDirectory' | 'showOverwriteConfirmation' | 'dontAddToRecent'>;
  }
  export interface MessageBoxOptions {
    type?: 'none' | 'info' | 'error' | 'question' | 'warning';
    buttons?: string[];
    defaultId?: number;
    cancelId?: number;
    title?: string;
    message: string;
    detail?: string;
  }
  export interface Dialog {
    showOpenDialog(window: BrowserWindow, options: OpenDialogOptions): Promise<{ canceled: boolean; filePaths: string[] }>;
    showSaveDialog(window: BrowserWindow, options: SaveDialogOptions): Promise<{ canceled: boolean; filePath: string }>;
    showErrorBox(title: string, content: string): void;
    showMessageBox(window: BrowserWindow, options: MessageBoxOptions): Promise<{ response: number }>;
    showMessageBox(options: MessageBoxOptions): Promise<{ response: number }>;
    showMessageBoxSync(
      window: BrowserWindow,
      options: { type?: string; buttons?: string[]; defaultId?: number; cancelId?: number; title?: string; message: string; detail?: string },
    ): number;
  }
  export const dialog: Dialog;

  export interface Privileges {
    standard?: boolean;
    secure?: boolean;
    bypassCSP?: boolean;
    allowServiceWorkers?: boolean;
    supportFetchAPI?: boolean;
    corsEnabled?: boolean;
    stream?: boolean;
    codeCache?: boolean;
  }
  export interface CustomScheme {
    scheme: string;
    privileges?: Privileges;
  }
  export interface Protocol {
    registerSchemesAsPrivileged(customSchemes: CustomScheme[]): void;
    handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void;
  }
  export const protocol: Protocol;

  export interface OnHeadersReceivedListenerDetails {
    url: string;
    responseHeaders?: Record<string, string[]>;
  }
  export interface HeadersReceivedResponse {
    cancel?: boolean;
    responseHeaders?: Record<string, string | string[]>;
  }
  export interface Session {
    webRequest: {
      onHeadersReceived(listener: ((details: OnHeadersReceivedListenerDetails, callback: (response: HeadersReceivedResponse) => void) => void) | null): void;
    };
    setPermissionRequestHandler(handler: ((webContents: WebContents, permission: string, callback: (granted: boolean) => void) => void) | null): void;
    setPermissionCheckHandler(handler: ((webContents: WebContents | null, permission: string) => boolean) | null): void;
  }
  export const session: { readonly defaultSession: Session };

  export interface MenuItemConstructorOptions {
    label?: string;
    role?: string;
    type?: 'normal' | 'separator' | 'submenu' | 'checkbox' | 'radio';
    accelerator?: string;
    click?: () => void;
    submenu?: MenuItemConstructorOptions[];
  }
  export class Menu {
    static buildFromTemplate(template: MenuItemConstructorOptions[]): Menu;
    static setApplicationMenu(menu: Menu | null): void;
  }

  export interface App {
    readonly isPackaged: boolean;
    name: string;
    whenReady(): Promise<void>;
    quit(): void;
    getPath(name: 'home' | 'appData' | 'userData' | 'temp' | 'downloads' | 'logs'): string;
    getAppPath(): string;
    getVersion(): string;
    requestSingleInstanceLock(): boolean;
    on(event: 'web-contents-created', listener: (event: Event, contents: WebContents) => void): this;
    on(event: 'window-all-closed' | 'activate' | 'second-instance', listener: () => void): this;
    on(event: 'before-quit', listener: (event: Event) => void): this;
  }
  export const app: App;
  export const nativeTheme: { readonly shouldUseDarkColors: boolean };

  export interface IpcRendererEvent extends Event {
    readonly sender: unknown;
  }
  export interface IpcRenderer {
    invoke(channel: string, ...args: any[]): Promise<any>;
    on(channel: string, listener: (event: IpcRendererEvent, ...args: any[]) => void): this;
    removeListener(channel: string, listener: (...args: any[]) => void): this;
  }
  export const ipcRenderer: IpcRenderer;
  export const contextBridge: { exposeInMainWorld(apiKey: string, api: any): void };
  export const webUtils: { getPathForFile(file: File): string };
}
