/**
 * `npm run bench`: every benchmark suite in sequence on one tfjs backend, one JSON object per line on stdout
 * (each with `suite`, `bench`, `backend` and its figures) and nothing else there; progress goes to stderr.
 *
 *   npm run bench [-- --only train,decode] [--quick] [--shared ../shared]
 *
 * Suites: train (decoder training step; the trainer's step with 1 worker and with one per core, and their
 * ratio; one line per other backend, timed where the automatic choice may take it, else why not), encoder (MobileNet forward, image decode; feature-extraction and captioning images/s with 1 worker and one per core, and their ratios), decode (greedy/beam, end to
 * end), trainer (train() loop, Adam, checkpoints, bundles), language (tokenise, metrics, beam bookkeeping),
 * data (dataset load, feature extraction, CSV export) and studio (the dataset editor at 20,000 images: open, one
 * save, item pages, captioning 500 images through the job path with the server's memory; then the same app in
 * Chromium: first screen, search while typing, grid and Caption-view scrolling — skipped without Chromium). `--quick` runs fewer repetitions (for a smoke test; the
 * figures are noisier). A suite that needs the shared datasets and cannot find them prints
 * `{"suite":…,"bench":…,"backend":…,"skipped":"../shared not found"}`; a suite that fails prints its `error`
 * and the run goes on, exiting 1 at the end. `CAPTION_STUDIO_BACKEND` picks the backend.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { describeBackend, initBackend } from '../engine/backend.ts';
import { runDataBench } from './data-bench.ts';
import { runDecodeBench } from './decode-bench.ts';
import { runEncoderBench } from './encoder-bench.ts';
import { runLanguageBench } from './language-bench.ts';
import { runParallelEncodeBench } from './parallel-encode-bench.ts';
import { runOtherBackendsTrainBench, runParallelTrainBench } from './parallel-train-bench.ts';
import { runTrainBench } from './train-bench.ts';
import { runStudioBench } from './studio-bench.ts';
import { runTrainerBench } from './trainer-bench.ts';
import { runUiBench } from './ui-bench.ts';

/** The suites in the order they run. */
export const SUITE_NAMES = ['train', 'encoder', 'decode', 'trainer', 'language', 'data', 'studio'] as const;
export type SuiteName = (typeof SUITE_NAMES)[number];

/** One output line: the suite, the bench's own name, the backend and the bench's figures. */
export type BenchLine = { readonly suite: SuiteName; readonly bench: string; readonly backend: string } & Readonly<Record<string, unknown>>;

export interface BenchRunOptions {
  /** Suites to run (default all), in SUITE_NAMES order whatever the order given. */
  readonly only?: readonly SuiteName[];
  /** Fewer repetitions per measurement. */
  readonly quick?: boolean;
  /** The shared folder with data/coco and data/ucm (default ../shared beside the project). */
  readonly shared?: string;
  /** Called with each line as soon as its suite finishes. */
  readonly onLine?: (line: BenchLine) => void;
  /** Progress messages (default: none). */
  readonly log?: (message: string) => void;
}

/** What a suite needs and how it runs. */
interface Suite {
  /** A path under the shared folder the suite cannot run without, or null. */
  readonly needs: ((shared: string) => string) | null;
  readonly run: (quick: boolean, shared: string) => Promise<readonly object[]>;
}

const SUITES: Record<SuiteName, Suite> = {
  train: {
    needs: null,
    run: async (quick) => [
      ...(await runTrainBench(quick ? { warmup: 1, repeats: 2 } : {})),
      ...(await runParallelTrainBench(quick ? { warmup: 1, repeats: 2 } : {})),
      ...(await runOtherBackendsTrainBench(quick ? { warmup: 1, repeats: 2 } : {})),
    ],
  },
  encoder: {
    needs: null, // decodes generated JPEGs when the COCO images are absent
    run: async (quick, shared) => [
      ...(await runEncoderBench({ imagesDir: path.join(shared, 'data/coco/images'), ...(quick ? { repeats: 2, decodeImages: 16 } : {}) })),
      ...(await runParallelEncodeBench(quick ? { images: 8, captionImages: 8, repeats: 1 } : {})),
    ],
  },
  decode: { needs: null, run: (quick) => runDecodeBench(quick ? { repeats: 2 } : {}) },
  trainer: { needs: null, run: (quick) => runTrainerBench(quick ? { batches: 2 } : {}) },
  language: {
    needs: (shared) => path.join(shared, 'data/coco/captions.json'),
    run: (quick, shared) => runLanguageBench({ captionsPath: path.join(shared, 'data/coco/captions.json'), ...(quick ? { rows: 8 } : {}) }),
  },
  data: {
    needs: (shared) => path.join(shared, 'data'), // without it, data-bench's generated fallback cannot extract features
    run: (quick, shared) => runDataBench({ sharedData: path.join(shared, 'data'), images: quick ? 8 : 32 }),
  },
  studio: {
    needs: null, // generates its folders; the UI part needs Chromium
    run: async (quick) => {
      const images = quick ? 2000 : 20_000;
      const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
      return [
        ...(await runStudioBench({ images, caption: quick ? 50 : 500 })),
        ...(existsSync(chromium) ? await runUiBench({ images, chromium }) : [{ bench: 'ui', skipped: `${chromium} not found` }]),
      ];
    },
  },
};

/** ../shared beside the project (this file is src-main/bench/run.ts). */
export const DEFAULT_SHARED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared');

/**
 * Runs the chosen suites one after another and returns every line (also handed to `onLine` as it comes).
 * `ok` is false when a suite failed (its line carries `error`).
 */
export async function runBenchmarks(options: BenchRunOptions = {}): Promise<{ lines: BenchLine[]; ok: boolean }> {
  const log = options.log ?? (() => {});
  const shared = options.shared ?? DEFAULT_SHARED;
  const chosen = SUITE_NAMES.filter((name) => !options.only || options.only.includes(name));
  const report = await initBackend();
  log(`backend: ${describeBackend(report)}`);
  const lines: BenchLine[] = [];
  let ok = true;
  const emit = (line: BenchLine): void => {
    lines.push(line);
    options.onLine?.(line);
  };
  for (const name of chosen) {
    const suite = SUITES[name];
    const needed = suite.needs?.(shared);
    if (needed && !existsSync(needed)) {
      log(`${name}: skipped, ${needed} not found`);
      emit({ suite: name, bench: name, backend: report.backend, skipped: '../shared not found' });
      continue;
    }
    log(`${name}: running${options.quick ? ' (quick)' : ''}…`);
    const started = performance.now();
    try {
      for (const result of await suite.run(options.quick ?? false, shared)) emit(toLine(name, report.backend, result));
      log(`${name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      ok = false;
      const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
      log(`${name}: failed: ${err instanceof Error ? (err.stack ?? message) : message}`);
      emit({ suite: name, bench: name, backend: report.backend, error: message });
    }
  }
  return { lines, ok };
}

/** A bench's result as an output line: suite and backend first (the bench's own backend field wins). */
function toLine(suite: SuiteName, backend: string, result: object): BenchLine {
  const fields = result as Record<string, unknown>;
  const bench = typeof fields.bench === 'string' ? fields.bench : suite;
  return { suite, bench, backend: typeof fields.backend === 'string' ? fields.backend : backend, ...fields };
}

function parseSuites(value: string): SuiteName[] {
  const names = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(SUITE_NAMES as readonly string[]).includes(n)) {
      throw new InvalidArgumentError(`unknown suite "${n}" (expected ${SUITE_NAMES.join(', ')})`);
    }
  }
  if (names.length === 0) throw new InvalidArgumentError(`no suite named (expected ${SUITE_NAMES.join(', ')})`);
  return names as SuiteName[];
}

async function main(argv: readonly string[]): Promise<number> {
  const program = new Command('bench')
    .description('Run the Caption Studio benchmarks; one JSON line per measurement on stdout.')
    .option('--only <suites>', `comma-separated suites: ${SUITE_NAMES.join(', ')}`, parseSuites)
    .option('--quick', 'fewer repetitions (a smoke test; noisier figures)', false)
    .option('--shared <dir>', 'the shared folder holding data/coco and data/ucm', DEFAULT_SHARED)
    .configureOutput({ writeOut: (s) => process.stderr.write(s), writeErr: (s) => process.stderr.write(s) })
    .exitOverride();
  try {
    program.parse(argv as string[], { from: 'node' });
  } catch (err) {
    const code = (err as { exitCode?: unknown }).exitCode;
    return typeof code === 'number' ? code : 2;
  }
  const opts = program.opts<{ only?: SuiteName[]; quick: boolean; shared: string }>();
  // Only result lines go to stdout: anything a library logs goes to stderr.
  console.log = console.error;
  console.info = console.error;
  const { ok } = await runBenchmarks({
    ...(opts.only ? { only: opts.only } : {}),
    quick: opts.quick,
    shared: path.resolve(opts.shared),
    onLine: (line) => process.stdout.write(`${JSON.stringify(line)}\n`),
    log: (message) => process.stderr.write(`[bench] ${message}\n`),
  });
  return ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await main(process.argv);
  // Exit once stdout is flushed, even if a library keeps a handle open.
  process.stdout.write('', () => process.exit(code));
}
