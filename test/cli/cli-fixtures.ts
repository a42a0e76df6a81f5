/**
 * Fixtures for the end-to-end CLI tests: a small "coloured shapes" dataset drawn with sharp (one big shape per
 * picture, sidecar captions naming colour, shape and background), and helpers that run the real
 * `caption-studio` launcher as a child process on the wasm backend.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';

/** The repository root (the CLI resolves its bundled encoders from there). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** The launcher `npx caption-studio` runs. */
export const CLI_BIN = path.join(REPO_ROOT, 'src-main/cli/bin.js');

export const KINDS = ['circle', 'square', 'triangle'] as const;
export type Kind = (typeof KINDS)[number];
export const COLOURS = { red: '#e01010', green: '#10b020', blue: '#1030e0', yellow: '#f0d000' } as const;
export type Colour = keyof typeof COLOURS;
export const BACKGROUNDS = { white: '#ffffff', black: '#000000' } as const;
export type Background = keyof typeof BACKGROUNDS;

/** One picture of the generated dataset. */
export interface ShapeImage {
  /** Absolute path of the image file. */
  readonly file: string;
  readonly kind: Kind;
  readonly colour: Colour;
  readonly background: Background;
  /** Its reference captions, as written to the sidecar file. */
  readonly captions: readonly string[];
}

/** The SVG of one shape of `size` px centred at (cx, cy) in a 224² picture. */
function shapeSvg(kind: Kind, colour: Colour, background: Background, size = 144, cx = 112, cy = 112): string {
  const fill = COLOURS[colour];
  const r = size / 2;
  const shape =
    kind === 'circle'
      ? `<circle cx="${cx}" cy="${cy}" r="${r}" fill="${fill}"/>`
      : kind === 'square'
        ? `<rect x="${cx - r}" y="${cy - r}" width="${size}" height="${size}" fill="${fill}"/>`
        : `<polygon points="${cx},${cy - r} ${cx + r},${cy + r} ${cx - r},${cy + r}" fill="${fill}"/>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="224" height="224">` +
    `<rect width="224" height="224" fill="${BACKGROUNDS[background]}"/>${shape}</svg>`
  );
}

/** Where and how big the shape of each variant is: variant 0 large and centred, the others smaller and moved. */
const VARIANTS = [
  { size: 144, cx: 112, cy: 112 },
  { size: 104, cx: 92, cy: 100 },
  { size: 120, cx: 128, cy: 124 },
] as const;

/** A JPEG of one shape (`variant` picks its size and place). */
export async function shapeJpeg(kind: Kind, colour: Colour, background: Background, variant = 0): Promise<Buffer> {
  const v = VARIANTS[variant % VARIANTS.length]!;
  return sharp(Buffer.from(shapeSvg(kind, colour, background, v.size, v.cx, v.cy))).jpeg({ quality: 90 }).toBuffer();
}

/** The reference captions of a picture. */
export function captionsOf(kind: Kind, colour: Colour, background: Background): string[] {
  return [`a ${colour} ${kind} on a ${background} background`, `a ${colour} ${kind} on ${background}`];
}

/**
 * Writes every colour × shape × background picture (24 per variant) into `dir` as
 * `NN-colour-kind-background.jpg`, each with a sidecar `.txt` holding its captions, one per line.
 */
export async function writeShapesDataset(dir: string, opts: { readonly variants?: number } = {}): Promise<ShapeImage[]> {
  await mkdir(dir, { recursive: true });
  const images: ShapeImage[] = [];
  for (let variant = 0; variant < (opts.variants ?? 1); variant++) {
    for (const colour of Object.keys(COLOURS) as Colour[]) {
      for (const kind of KINDS) {
        for (const background of Object.keys(BACKGROUNDS) as Background[]) {
          const base = `${String(images.length).padStart(2, '0')}-${colour}-${kind}-${background}`;
          const file = path.join(dir, `${base}.jpg`);
          const captions = captionsOf(kind, colour, background);
          await writeFile(file, await shapeJpeg(kind, colour, background, variant));
          await writeFile(path.join(dir, `${base}.txt`), `${captions.join('\n')}\n`);
          images.push({ file, kind, colour, background, captions });
        }
      }
    }
  }
  return images;
}

/** A fresh temporary folder; `cleanup` removes it. */
export async function tempDir(prefix = 'cs-cli-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** What a finished CLI run left behind. */
export interface CliResult {
  /** Exit status (null when a signal ended it). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A CLI process still running, with its output so far. */
export interface RunningCli {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves once stderr matches `pattern` (rejects if the process ends first or after `timeoutMs`). */
  readonly waitForStderr: (pattern: RegExp, timeoutMs?: number) => Promise<void>;
  /** Resolves when the process ends. */
  readonly done: Promise<CliResult>;
}

/** Starts `node src-main/cli/bin.js …args` on the wasm backend, from `cwd` (default: the repository root). */
export function startCli(args: readonly string[], opts: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {}): RunningCli {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: { ...process.env, CAPTION_STUDIO_BACKEND: 'wasm', ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const watchers = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
    for (const w of [...watchers]) w();
  });
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const w of [...watchers]) w();
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  const waitForStderr = (pattern: RegExp, timeoutMs = 60_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`no stderr line matching ${pattern} within ${timeoutMs} ms; stderr so far:\n${err}`)), timeoutMs);
      const finish = (error?: Error): void => {
        clearTimeout(timer);
        watchers.delete(check);
        if (error) reject(error);
        else resolve();
      };
      const check = (): void => {
        if (pattern.test(err)) finish();
        else if (child.exitCode !== null || child.signalCode !== null) finish(new Error(`the CLI ended before stderr matched ${pattern}; stderr:\n${err}`));
      };
      watchers.add(check);
      check();
    });
  return { child, stdout: () => out, stderr: () => err, waitForStderr, done };
}

/** Runs the CLI to the end. */
export function runCli(args: readonly string[], opts: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** Parses stdout holding one JSON object per line. */
export function jsonLines(stdout: string): unknown[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);
}

/** The stderr lines that are not progress output (progress lines start with a task name and a count). */
export function messageLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.trim() !== '' && !/^(extract|caption|train|check) \d+\/(\d+|\?)/.test(line));
}

/** Sizes of a toy model (every word of the shapes captions kept). */
export const TINY_MODEL = ['--hidden', '32', '--embed', '16', '--min-count', '1'] as const;

/**
 * Training that teaches a toy model the shapes dataset (two variants, 48 pictures) in a few seconds: teacher
 * forcing, no dropout, a high learning rate, all 30 epochs, and a 60/20/20 seeded split. With it the model names
 * the shape of held-out pictures (measured: 10 of 10 for seeds 1, 3, 4 and 5; seed 2 stalls). These settings were
 * measured on MobileNet v1 0.75 features, so the toy keeps that encoder (with the 1280-d v2 features this tiny
 * model at lr 0.02 does not learn the shapes in 30 epochs); it also keeps v1 models' train → caption → eval path
 * tested now that v2 is the default.
 */
export const SHAPES_TRAINING = [
  ...TINY_MODEL,
  ...['--encoder', 'mobilenet_v1_0.75_224'],
  ...['--epochs', '30', '--batch', '8', '--lr', '0.02', '--dropout', '0', '--schedule', 'none', '--patience', '0'],
  ...['--val-fraction', '0.2', '--test-fraction', '0.2'],
] as const;

/** The shape a caption names ('circle', 'square', 'triangle'), or undefined when it names none or several. */
export function kindNamed(caption: string): Kind | undefined {
  const named = KINDS.filter((k) => caption.split(/\s+/).includes(k));
  return named.length === 1 ? named[0] : undefined;
}
