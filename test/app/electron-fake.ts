/**
 * A stand-in for the parts of Electron the main-process modules call, recording what they do: IPC handlers,
 * windows and their web contents (with event listeners), protocol handlers, session hooks. Used through
 * `vi.mock('electron', () => electronFake())` in the app/ unit tests only.
 */
type Listener = (...args: any[]) => unknown;

export class FakeWebContents {
  static nextId = 1;
  readonly id = FakeWebContents.nextId++;
  readonly sent: { channel: string; args: unknown[] }[] = [];
  readonly listeners = new Map<string, Listener[]>();
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null;
  destroyed = false;
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
  }
  getURL(): string {
    return 'cs-app://renderer/index.html';
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler;
  }
  /** Fires an event the way Electron would; returns whether a listener called preventDefault. */
  emit(event: string, ...args: unknown[]): boolean {
    let prevented = false;
    const e = { preventDefault: () => (prevented = true), get defaultPrevented() { return prevented; } };
    for (const l of this.listeners.get(event) ?? []) l(e, ...args);
    return prevented;
  }
  openDevTools(): void {}
}

export class FakeBrowserWindow {
  static all: FakeBrowserWindow[] = [];
  readonly webContents = new FakeWebContents();
  loadedUrl: string | null = null;
  constructor(readonly options: Record<string, unknown> = {}) {
    FakeBrowserWindow.all.push(this);
  }
  static fromWebContents(wc: unknown): FakeBrowserWindow | null {
    return FakeBrowserWindow.all.find((w) => w.webContents === wc) ?? null;
  }
  static getAllWindows(): FakeBrowserWindow[] {
    return [...FakeBrowserWindow.all];
  }
  async loadURL(url: string): Promise<void> {
    this.loadedUrl = url;
  }
  once(): this {
    return this;
  }
  on(): this {
    return this;
  }
  show(): void {}
  focus(): void {}
  restore(): void {}
  isMinimized(): boolean {
    return false;
  }
  isDestroyed(): boolean {
    return false;
  }
}

export interface FakeState {
  readonly ipcHandlers: Map<string, Listener>;
  readonly protocolHandlers: Map<string, Listener>;
  readonly privileged: unknown[];
  readonly appListeners: Map<string, Listener[]>;
  headersListener: Listener | null;
  permissionHandler: Listener | null;
  permissionCheck: Listener | null;
  /** The button index the next message box answers with, and the boxes shown. */
  messageBoxAnswer: number;
  readonly messageBoxes: { message: string; buttons?: string[] }[];
}

export const fakeState: FakeState = {
  ipcHandlers: new Map(),
  protocolHandlers: new Map(),
  privileged: [],
  appListeners: new Map(),
  headersListener: null,
  permissionHandler: null,
  permissionCheck: null,
  messageBoxAnswer: 1,
  messageBoxes: [],
};

/** The module object `vi.mock('electron', …)` returns. */
export function electronFake(): Record<string, unknown> {
  return {
    BrowserWindow: FakeBrowserWindow,
    ipcMain: {
      handle: (channel: string, listener: Listener) => fakeState.ipcHandlers.set(channel, listener),
      removeHandler: (channel: string) => fakeState.ipcHandlers.delete(channel),
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown[]) => fakeState.privileged.push(...schemes),
      handle: (scheme: string, handler: Listener) => fakeState.protocolHandlers.set(scheme, handler),
    },
    session: {
      defaultSession: {
        webRequest: { onHeadersReceived: (l: Listener) => (fakeState.headersListener = l) },
        setPermissionRequestHandler: (h: Listener) => (fakeState.permissionHandler = h),
        setPermissionCheckHandler: (h: Listener) => (fakeState.permissionCheck = h),
      },
    },
    app: {
      isPackaged: false,
      on: (event: string, listener: Listener) => fakeState.appListeners.set(event, [...(fakeState.appListeners.get(event) ?? []), listener]),
    },
    dialog: {
      showMessageBoxSync: (_win: unknown, options: { message: string; buttons?: string[] }) => {
        fakeState.messageBoxes.push(options);
        return fakeState.messageBoxAnswer;
      },
    },
    nativeTheme: { shouldUseDarkColors: false },
    Menu: { buildFromTemplate: (t: unknown) => t, setApplicationMenu: () => {} },
  };
}

/** The web preferences every Caption Studio window must have (besides its preload), as the tests expect them. */
export const SECURE_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  disableBlinkFeatures: 'Auxclick',
} as const;
