/**
 * The folder layout is the layering, and nothing below calls up: engine, data, text and util at the bottom, the
 * use cases (pipeline/) above them, then the UI contract, the jobs, the backend services, and the front ends (CLI,
 * Electron app, browser-mode server, preload, benchmarks). The renderer imports nothing from src-main/ but the
 * contract. Read from the sources' import statements.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MAIN = path.join(ROOT, 'src-main');
const RENDERER = path.join(ROOT, 'src-renderer');

/** Each src-main folder's layer: a module may import its own folder and folders of lower layers only. */
const LAYER: Readonly<Record<string, number>> = {
  util: 0,
  text: 0,
  engine: 0,
  data: 0,
  pipeline: 1,
  contract: 2,
  jobs: 3,
  services: 4,
  cli: 5,
  app: 5,
  server: 5,
  preload: 5,
  bench: 5,
};
/** Front ends that may use one another: the Electron app falls back to the browser-mode server, which the UI benchmark drives. */
const ALLOWED_SIDEWAYS = new Set(['app→server', 'bench→server']);

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : files(full, ext);
    return ext.test(e.name) ? [full] : [];
  });
}

/** Relative module specifiers a file imports (static, re-exports and dynamic imports). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)'(\.{1,2}\/[^']+)'/gm)) found.push(m[1]!);
  return found;
}

function folderOf(file: string): string {
  return path.relative(MAIN, file).split(path.sep)[0]!;
}

describe('layers', () => {
  const sources = files(MAIN, /\.(ts|mts|js|mjs)$/);

  it('every src-main folder has a layer', () => {
    const folders = new Set(sources.map(folderOf).filter((f) => !f.includes('.')));
    expect([...folders].filter((f) => !(f in LAYER))).toEqual([]);
  });

  it('no module imports from a higher layer, nor from another front end', () => {
    const violations: string[] = [];
    for (const file of sources) {
      const from = folderOf(file);
      for (const spec of importsOf(file)) {
        const target = path.resolve(path.dirname(file), spec);
        if (!target.startsWith(MAIN + path.sep)) continue;
        const to = folderOf(target);
        if (to === from) continue;
        const up = LAYER[to]! > LAYER[from]!;
        const sideways = LAYER[to] === LAYER[from] && LAYER[from] === 5 && !ALLOWED_SIDEWAYS.has(`${from}→${to}`);
        if (up || sideways) violations.push(`${path.relative(ROOT, file)} → ${spec}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('the engine and the data layer do not import each other in a cycle', () => {
    const dataToEngine = sources
      .filter((f) => folderOf(f) === 'data')
      .flatMap((f) => importsOf(f).map((s) => path.resolve(path.dirname(f), s)))
      .filter((t) => t.startsWith(path.join(MAIN, 'engine') + path.sep));
    expect(dataToEngine.map((t) => path.relative(ROOT, t))).toEqual([]);
  });

  it('the renderer imports nothing from src-main but the contract', () => {
    const outside: string[] = [];
    for (const file of files(RENDERER, /\.(ts|svelte)$/)) {
      for (const spec of importsOf(file)) {
        const target = path.resolve(path.dirname(file), spec);
        if (target.startsWith(MAIN + path.sep) && !target.startsWith(path.join(MAIN, 'contract') + path.sep)) outside.push(`${path.relative(ROOT, file)} → ${spec}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
