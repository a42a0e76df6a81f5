/** Option parsers and shared CLI plumbing: one-line errors, output streams, backend start-up. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { InvalidArgumentError, Option } from 'commander';
import { BUNDLE_MODEL_FILE } from '../engine/bundle.ts';
import { describeBackend, initBackend, parsePreference } from '../engine/backend.ts';
import { defaultModelDir } from '../util/paths.ts';
import { formatProblem, type DatasetProblem } from '../data/dataset.ts';

/** Parses a positive integer option value. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got '${value}'`);
  return n;
}

/**
 * Parses `--workers <n>`: 1 to 4 threads per core. Every thread holds its own backend and model (a caption thread
 * ~350 MB) and more threads than cores only share them, so a larger count is a typo, not a wish.
 */
export function workerCount(value: string, cores = availableParallelism()): number {
  const n = positiveInt(value);
  const most = 4 * cores;
  if (n > most) throw new InvalidArgumentError(`expected at most ${most} threads (4 per core on this machine's ${cores}), got ${n}`);
  return n;
}

/** `--workers <n>` of caption and export: the threads that encode and caption (pipeline/caption-images.ts). */
export function captionWorkersOption(): Option {
  return new Option('--workers <n>', 'threads that encode and caption images on the wasm backend (1 = all in this thread)')
    .argParser((value) => workerCount(value))
    .default(availableParallelism(), `one per core: ${availableParallelism()}`);
}

/** Parses a non-negative integer option value. */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected an integer ≥ 0, got '${value}'`);
  return n;
}

/** Parses a finite number option value. */
export function finiteNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got '${value}'`);
  return n;
}

/** Parses a fraction in [0, 1). */
export function fraction(value: string): number {
  const n = finiteNumber(value);
  if (n < 0 || n >= 1) throw new InvalidArgumentError(`expected a fraction in [0, 1), got '${value}'`);
  return n;
}

/** The options every command shares. */
export interface GlobalOptions {
  readonly backend?: string;
  readonly verbose?: boolean;
  readonly quiet?: boolean;
}

/**
 * Starts the tfjs backend the user asked for (or the best one present) and says which runs, on stderr.
 * `forTraining`: the command only trains, so 'auto' may pick webgpu (see engine/backend.ts).
 */
export async function startBackend(opts: GlobalOptions, forTraining = false): Promise<void> {
  const report = await initBackend({ ...(opts.backend ? { prefer: parsePreference(opts.backend, '--backend') } : {}), forTraining });
  if (opts.verbose) process.stderr.write(`backend: ${describeBackend(report)}\n`);
}

/** What follows the count of problems left unprinted, where the full list is one command away. */
export const MORE_PROBLEMS = 'more problems (see `caption-studio stats`)';

/** The first `limit` dataset problems, one line each, and a last line counting the rest (`… and N <more>`). */
export function problemLines(problems: readonly DatasetProblem[], limit: number, more = 'more'): string[] {
  const lines = problems.slice(0, limit).map((p) => formatProblem(p));
  if (problems.length > limit) lines.push(`… and ${problems.length - limit} ${more}`);
  return lines;
}

/** Writes a line to stderr unless quiet. */
export function note(opts: GlobalOptions, line: string): void {
  if (!opts.quiet) process.stderr.write(`${line}\n`);
}

/** An error that should end the command with this exit status and message (no stack trace). */
export class ExitError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'ExitError';
  }
}

/** The model folder to use: `--model`, else the bundled default (a clear error when that is not installed). */
export function modelDirOf(model: string | undefined): string {
  if (model !== undefined) return model;
  const dir = defaultModelDir();
  if (!existsSync(path.join(dir, BUNDLE_MODEL_FILE))) {
    throw new ExitError(`no --model given and the default model is not installed (no ${path.join(dir, BUNDLE_MODEL_FILE)}); pass --model DIR`);
  }
  return dir;
}
