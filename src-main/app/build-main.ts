/**
 * Bundles the Electron side with esbuild into out/: the main process (ESM, out/main/index.js), the job worker it
 * starts (out/main/job-worker.js), the data-parallel training and feature workers (out/main/train-worker.js, encoder-worker.js) and the sandboxed preload (CommonJS, out/preload/index.cjs). npm packages stay
 * external (they ship in node_modules); the renderer is built separately by Vite into out/renderer.
 *   tsx src-main/app/build-main.ts
 */
import path from 'node:path';
import { build } from 'esbuild';
import { packageRoot } from '../util/paths.ts';

/** Runs the three builds; resolves when all are written. */
export async function buildMain(root = packageRoot()): Promise<void> {
  const src = (p: string): string => path.join(root, 'src-main', p);
  const common = { bundle: true, platform: 'node' as const, target: 'node20', sourcemap: true, logLevel: 'warning' as const, absWorkingDir: root };
  await Promise.all([
    build({
      ...common,
      entryPoints: { index: src('app/main.ts'), 'job-worker': src('jobs/worker.ts'), 'train-worker': src('engine/parallel/train-worker.ts'), 'encoder-worker': src('engine/parallel/encoder-worker.ts') },
      outdir: path.join(root, 'out', 'main'),
      format: 'esm',
      packages: 'external',
      external: ['electron'],
      // ESM output still needs require() for the few CommonJS-only paths esbuild leaves in.
      banner: { js: "import { createRequire as __csCreateRequire } from 'node:module'; const require = __csCreateRequire(import.meta.url);" },
    }),
    build({
      ...common,
      entryPoints: { index: src('preload/index.ts') },
      outdir: path.join(root, 'out', 'preload'),
      outExtension: { '.js': '.cjs' },
      format: 'cjs',
      external: ['electron'],
    }),
  ]);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('build-main.ts')) {
  await buildMain();
  console.log('built out/main/index.js, out/main/job-worker.js, out/main/train-worker.js, out/preload/index.cjs');
}
