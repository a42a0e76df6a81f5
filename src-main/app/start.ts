/**
 * `npm start`: builds the renderer and the Electron bundles, then launches Electron when its binary is present.
 * Where it is not (the optional `electron` package failed to download its binary, or is not installed), says so
 * in one line and starts the browser mode instead, printing the URL to open.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot } from '../util/paths.ts';

/** The Electron executable, or null with the reason it cannot be used. */
export function findElectron(): { path: string } | { path: null; reason: string } {
  const require = createRequire(import.meta.url);
  let binary: unknown;
  try {
    binary = require('electron');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { path: null, reason: code === 'MODULE_NOT_FOUND' ? 'the electron package is not installed' : (err as Error).message.split('\n')[0]! };
  }
  if (typeof binary !== 'string' || !existsSync(binary)) return { path: null, reason: 'the electron package is installed but its binary is missing' };
  return { path: binary };
}

async function buildRenderer(root: string): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: path.join(root, 'vite.config.ts'), root: path.join(root, 'src-renderer'), logLevel: 'warn' });
}

async function main(): Promise<void> {
  const root = packageRoot();
  const electron = findElectron();
  await buildRenderer(root);
  if (electron.path === null) {
    console.log(`Electron is not available (${electron.reason}); starting the browser mode instead.`);
    await import('../server/cli.ts');
    return;
  }
  const { buildMain } = await import('./build-main.ts');
  await buildMain(root);
  const child = spawn(electron.path, [root, ...process.argv.slice(2)], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
}

await main();
