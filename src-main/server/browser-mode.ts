/**
 * Starts the whole browser mode in this process: services (with their worker threads) plus the HTTP server, and
 * shuts both down on SIGINT/SIGTERM. Used by `npm run serve` and by `npm start` when Electron is absent.
 */
import path from 'node:path';
import { AppServices } from '../services/app-services.ts';
import { appDirs } from '../services/app-dirs.ts';
import { modelsDir, packageRoot } from '../util/paths.ts';
import { startServer, type RunningServer } from './http-server.ts';

export interface BrowserModeOptions {
  readonly port?: number;
  readonly dataDir?: string;
  readonly rendererDir?: string;
}

export async function runBrowserMode(options: BrowserModeOptions = {}): Promise<{ services: AppServices; server: RunningServer }> {
  const dirs = appDirs();
  const services = await AppServices.create({
    mode: 'browser',
    dataDir: options.dataDir ?? dirs.dataDir,
    cacheDir: options.dataDir ? path.join(options.dataDir, 'cache') : dirs.cacheDir,
    builtinModelsDir: modelsDir(),
  });
  const server = await startServer({
    services,
    rendererDir: options.rendererDir ?? path.join(packageRoot(), 'out', 'renderer'),
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  let closing = false;
  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    void Promise.allSettled([server.close(), services.close()]).then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  return { services, server };
}
