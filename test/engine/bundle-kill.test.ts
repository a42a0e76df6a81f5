/**
 * Installing a model is one atomic folder swap (engine/bundle.ts over util/atomic-dir.ts): at every instant the old
 * or the new model loads. Checked by killing (SIGKILL) a process that installs two bundles over one folder in a
 * tight loop, at random times, 24 times; and, deterministically, in the states a kill can leave: the old folder
 * moved aside with the new one not yet in place, and temporary leftovers of earlier kills.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disposeCaptionModel } from '../../src-main/engine/caption-model.ts';
import { copyBundle, loadBundle, readBundleInfo } from '../../src-main/engine/bundle.ts';
import { packageRoot } from '../../src-main/util/paths.ts';
import { writeFixedCaptionBundle } from '../services/fixtures.ts';

const KILLS = 24;
let root: string;
let a: string;
let b: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-bundle-kill-'));
  a = await writeFixedCaptionBundle(path.join(root, 'a'), ['a', 'red', 'square'], 'A');
  b = await writeFixedCaptionBundle(path.join(root, 'b'), ['two', 'blue', 'circles', 'here'], 'B');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Loads the model in `dir` and says which one it is (throws when it does not load). */
async function whichModel(dir: string): Promise<string> {
  const model = await loadBundle(dir);
  try {
    return model.metadata.name ?? '?';
  } finally {
    disposeCaptionModel(model);
  }
}

/** Starts the installing child, waits for its first install, lets it run `ms` more, kills it with SIGKILL. */
async function installAndKill(target: string, ms: number): Promise<void> {
  const child = spawn(process.execPath, [path.join(packageRoot(), 'test', 'engine', 'bundle-saver.mjs'), target, a, b], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`installer exited (${code}) before its first install: ${stderr.slice(-500)}`)));
  });
  await new Promise((resolve) => setTimeout(resolve, ms));
  child.kill('SIGKILL');
  await exited;
}

describe('installing a model over another', () => {
  it(`never leaves an unloadable model, whenever the installing process is killed (${KILLS} kills at random times)`, async () => {
    const target = path.join(root, 'models', 'installed');
    const seen = new Set<string>();
    let midSwap = 0;
    for (let k = 0; k < KILLS; k++) {
      await installAndKill(target, Math.random() * 120);
      const left = (await readdir(path.dirname(target))).filter((n) => n !== 'installed');
      if (left.length > 0) midSwap++;
      const name = await whichModel(target);
      expect(['A', 'B']).toContain(name);
      seen.add(name);
    }
    // Both models were installed in turn, and the next install puts back and clears what the kills left.
    expect(seen).toEqual(new Set(['A', 'B']));
    await copyBundle(a, target);
    expect(await readdir(path.dirname(target))).toEqual(['installed']);
    expect(await whichModel(target)).toBe('A');
    console.log(`bundle-kill: ${KILLS} kills, ${midSwap} left a temporary or moved-aside folder beside the model`);
  }, 240_000);

  it('loads the old model in the instant between the two renames of a swap, and the next install recovers', async () => {
    const models = path.join(root, 'gap');
    await copyBundle(a, path.join(models, 'm'));
    // What a kill between the swap's renames leaves: the old folder moved aside, the new one still temporary.
    await rename(path.join(models, 'm'), path.join(models, '.m.old-0123456789ab'));
    await mkdir(path.join(models, '.m.tmp-0123456789ab'));
    await writeFile(path.join(models, '.m.tmp-0123456789ab', 'weights.bin'), 'half');
    expect(await whichModel(path.join(models, 'm'))).toBe('A');
    expect((await readBundleInfo(path.join(models, 'm'))).name).toBe('A');
    await copyBundle(b, path.join(models, 'm'));
    expect(await readdir(models)).toEqual(['m']);
    expect(await whichModel(path.join(models, 'm'))).toBe('B');
  });

  it('keeps the user\'s own files and the CLI\'s checkpoints in an --out folder, drops temporary files of killed saves, refuses other sub-folders', async () => {
    const out = path.join(root, 'out');
    await mkdir(path.join(out, 'checkpoints', 'latest'), { recursive: true });
    await writeFile(path.join(out, 'checkpoints', 'latest', 'checkpoint.json'), '{"kept":true}');
    await writeFile(path.join(out, 'NOTES.txt'), 'mine');
    await writeFile(path.join(out, '.model.json.0123456789ab.tmp'), 'left by a killed save');
    await utimes(path.join(out, '.model.json.0123456789ab.tmp'), new Date(0), new Date(0));
    await copyBundle(a, out);
    expect((await readdir(out)).sort()).toEqual(['NOTES.txt', 'checkpoints', 'model.json', 'weights.bin']);
    expect(await readFile(path.join(out, 'checkpoints', 'latest', 'checkpoint.json'), 'utf8')).toBe('{"kept":true}');
    expect(await readFile(path.join(out, 'NOTES.txt'), 'utf8')).toBe('mine');
    await mkdir(path.join(root, 'home', 'Documents'), { recursive: true });
    await expect(copyBundle(a, path.join(root, 'home'))).rejects.toThrow(/home: holds the folder Documents, so it is not a model folder/);
  });
});
