/**
 * Boots the bundled Electron main process (out/main/index.js) and preload (out/preload/index.cjs) in plain Node
 * with `electron` replaced by ./electron.mjs, then drives it as the renderer would through the preload's bridge:
 * app.info, a malformed payload, a caption job with its events, a call from a foreign frame, and quitting.
 * Prints one JSON report on stdout.  node test/app/electron-stub/boot.mjs <out dir> <images dir>
 */
import Module, { createRequire, register } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [outDir, imagesDir] = process.argv.slice(2);
const stubUrl = new URL('./electron.mjs', import.meta.url).href;
register(
  `data:text/javascript,${encodeURIComponent(
    `export async function resolve(specifier, context, next) { return specifier === 'electron' ? { url: ${JSON.stringify(stubUrl)}, shortCircuit: true } : next(specifier, context); }`,
  )}`,
);
const electron = await import(stubUrl);
const { state } = electron;
// The preload is CommonJS: its require('electron') gets the same stub.
const load = Module._load;
Module._load = function (request, ...rest) {
  return request === 'electron' ? electron : load.call(this, request, ...rest);
};

const until = async (check, what, ms = 120_000) => {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

await import(pathToFileURL(path.join(outDir, 'main', 'index.js')).href);
await until(() => state.windows.length > 0, 'the main window');
const preloadRequires = [];
const requireFromHere = createRequire(import.meta.url);
const loadForPreload = Module._load;
Module._load = function (request, ...rest) {
  preloadRequires.push(request);
  return loadForPreload.call(this, request, ...rest);
};
requireFromHere(path.join(outDir, 'preload', 'index.cjs'));
Module._load = loadForPreload;
const bridge = state.exposed.get('captionStudio');

const events = [];
bridge.onEvent((e) => events.push(e));
const info = await bridge.invoke('app.info', {});
const invalid = await bridge.invoke('settings.update', { beamSize: 0 });
const unknown = await bridge.invoke('no.such.method', {});
const started = await bridge.invoke('caption.start', { paths: [imagesDir] });
await until(() => events.some((e) => e.type === 'job' && e.job.id === started.value?.id && ['done', 'failed', 'cancelled'].includes(e.job.state)), 'the caption job');
const finished = events.filter((e) => e.type === 'job' && e.job.id === started.value.id).at(-1).job;
const captions = events.filter((e) => e.type === 'caption' && e.jobId === started.value.id).map((e) => e.item);
// A frame from elsewhere inside our window, and a webContents that is not one of our windows.
const handler = state.ipc.get([...state.ipc.keys()].find((c) => c.endsWith('app.info')));
const foreignFrame = await handler({ sender: state.windows[0].webContents, senderFrame: { url: 'https://example.com/' } }, {});
const foreignContents = await handler({ sender: {}, senderFrame: { url: state.windows[0].webContents.url } }, {});

// The custom protocols as the window would use them: the app's page, an image of the captioned folder, a file
// outside everything the user opened.
const appPage = await state.protocols.get('cs-app')({ url: 'cs-app://renderer/index.html' });
const mediaUrl = (p) => `cs-media://image/?path=${encodeURIComponent(p)}`;
const image = await state.protocols.get('cs-media')({ url: mediaUrl(captions[0]?.path ?? '') });
const outside = await state.protocols.get('cs-media')({ url: mediaUrl(path.resolve(outDir, '..', 'assets', 'icon.png')) });
const protocolResponses = {
  appPage: { status: appPage.status, type: appPage.headers.get('content-type'), hasApp: (await appPage.text()).includes('<script') },
  image: { status: image.status, type: image.headers.get('content-type') },
  outside: { status: outside.status },
};

const win = state.windows[0];
const report = {
  protocolResponses,
  windows: state.windows.length,
  url: win.webContents.url,
  backgroundColor: win.options.backgroundColor,
  webPreferences: { ...win.options.webPreferences, preload: path.relative(outDir, win.options.webPreferences.preload) },
  windowOpen: win.webContents.openHandler?.({ url: 'https://example.com/' }),
  ipcChannels: [...state.ipc.keys()].sort(),
  protocols: [...state.protocols.keys()].sort(),
  privileged: state.privileged.map((s) => s.scheme).sort(),
  sessionHooks: state.sessionHooks.map(([name]) => name),
  menu: Array.isArray(state.menu),
  preloadRequires: [...new Set(preloadRequires)],
  bridge: Object.keys(bridge).sort(),
  info,
  invalid,
  unknown,
  finished,
  captions,
  foreignFrame,
  foreignContents,
};
// Stop the app as Ctrl+C on `npm start` or the system does (SIGTERM; the listeners only, the process is not
// signalled): the main process must quit as Electron would. The report goes out now, and this process must then end
// by itself: the services closed their workers and nothing else keeps it alive (the test waits for the exit).
process.emit('SIGTERM');
await until(() => state.quitted, 'the app to quit (services closed)', 60_000);
report.quitted = state.quitted;
process.stdout.write(`${JSON.stringify(report)}\n`);
