/**
 * Once before the test files run (they run in parallel): builds what the packaged app runs — the renderer (Vite)
 * and the esbuild bundles of the main process, job worker and preload — so that the tests that load them never
 * race each other's rebuilds.
 */
import { buildMain } from '../src-main/app/build-main.ts';
import { ensureRendererBuilt } from './e2e/harness.ts';

export default async function setup(): Promise<void> {
  await ensureRendererBuilt();
  await buildMain();
}
