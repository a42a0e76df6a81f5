import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cachedRoot: string | undefined;

/** The directory holding the project's package.json (found by walking up from this file). */
export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'models'))) break;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find the Caption Studio package root above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  cachedRoot = dir;
  return dir;
}

/** Where bundled models live: `CAPTION_STUDIO_MODELS_DIR`, else `<package root>/models`. */
export function modelsDir(): string {
  return process.env.CAPTION_STUDIO_MODELS_DIR ?? path.join(packageRoot(), 'models');
}

/** The caption model shipped with the app. */
export function defaultModelDir(): string {
  return path.join(modelsDir(), 'default');
}
