/**
 * `caption-studio compare <dataset> --schedules none,always,linear,exponential,inverse-sigmoid [--seeds 3]`: the
 * scheduled-sampling study (pipeline/compare-study.ts). Trains one model per schedule and seed with everything else
 * equal, scores each on the held-out test images, prints the table (mean ± sd over seeds) and writes it with a chart
 * and the best model into --out. Ctrl-C stops at the next mini-batch with a checkpoint; the same command resumes,
 * without redoing finished runs.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { DATASET_FORMATS, type DatasetFormat } from '../../data/dataset-types.ts';
import { currentBackend } from '../../engine/backend.ts';
import { BUNDLED_ENCODERS, DEFAULT_ENCODER, type BundledEncoderName } from '../../engine/encoder.ts';
import { EPSILON_SCHEDULE_TYPES, type EpsilonScheduleType } from '../../engine/schedules.ts';
import { DEFAULT_TRAIN_CONFIG as D, type TrainConfigInput } from '../../engine/train-config.ts';
import { checkStudyRequest, compareSchedules, type CompareResult } from '../../pipeline/compare-study.ts';
import { formatTable } from '../../pipeline/compare-table.ts';
import { STUDY_SCHEDULES } from '../../pipeline/schedule-colours.ts';
import { DEFAULT_SPLIT } from '../../pipeline/training-data.ts';
import { CancelledError } from '../../util/progress.ts';
import { featureNotes } from '../loaded-model.ts';
import { ProgressBar } from '../progress-bar.ts';
import { cancelOnSigint, openTrainingEncoder } from '../training-session.ts';
import { ExitError, finiteNumber, fraction, MORE_PROBLEMS, nonNegativeInt, note, positiveInt, problemLines, startBackend, workerCount, type GlobalOptions } from '../options.ts';

interface CompareCommandOptions extends GlobalOptions {
  readonly schedules: string;
  readonly seeds: number;
  readonly firstSeed: number;
  readonly out?: string;
  readonly json?: boolean;
  readonly format: DatasetFormat | 'auto';
  readonly images?: string;
  readonly epochs?: number;
  readonly batch?: number;
  readonly hidden?: number;
  readonly embed?: number;
  readonly lr?: number;
  readonly dropout?: number;
  readonly minCount?: number;
  readonly maxLength?: number;
  readonly sampling?: 'sample' | 'argmax';
  readonly splitSeed: number;
  readonly valFraction: number;
  readonly testFraction: number;
  readonly cache?: string;
  readonly workers: number;
  readonly encoder: BundledEncoderName;
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('the scheduled-sampling study: train one model per schedule and seed, score each on the held-out test images')
    .argument('<dataset>', 'dataset file or folder')
    .option('--schedules <list>', `comma-separated ε schedules, in table order (any of ${EPSILON_SCHEDULE_TYPES.join(', ')})`, STUDY_SCHEDULES.join(','))
    .option('--seeds <n>', 'runs per schedule (seeds first-seed, first-seed + 1, …)', positiveInt, 3)
    .option('--first-seed <n>', 'seed of the first run of each schedule (initialisation, batch order, sampling)', nonNegativeInt, 1)
    .option('-o, --out <dir>', 'the study folder (table, chart, runs, best model); default ./compare-<dataset name>')
    .option('--json', 'print the result as one JSON object')
    .addOption(new Option('--format <format>', 'dataset format').choices(['auto', ...DATASET_FORMATS]).default('auto'))
    .option('--images <dir>', 'where the images are, when not beside the annotation file')
    .option('-e, --epochs <n>', `epochs of every run (default ${D.epochs}; no early stopping)`, positiveInt)
    .option('--batch <n>', `captions per mini-batch (default ${D.batchSize})`, positiveInt)
    .option('--hidden <n>', `LSTM hidden size (default ${D.hiddenDim})`, positiveInt)
    .option('--embed <n>', `word embedding size (default ${D.embedDim})`, positiveInt)
    .option('--lr <x>', `Adam learning rate (default ${D.learningRate.lr})`, finiteNumber)
    .option('--dropout <p>', `dropout probability (default ${D.dropout})`, fraction)
    .option('--min-count <n>', `words seen fewer times become <unk> (default ${D.minWordCount})`, positiveInt)
    .option('--max-length <n>', `longest caption in words (default ${D.maxLength})`, positiveInt)
    .addOption(new Option('--sampling <how>', `the model's own word: sampled or argmax (default ${D.sampling})`).choices(['sample', 'argmax']))
    .option('--split-seed <n>', 'seed of the split when the dataset has none (the same for every run)', nonNegativeInt, DEFAULT_SPLIT.seed)
    .option('--val-fraction <x>', 'validation share when the dataset has no split', fraction, DEFAULT_SPLIT.valFraction)
    .option('--test-fraction <x>', 'held-out test share when the dataset has no split', fraction, DEFAULT_SPLIT.testFraction)
    .option('--cache <dir>', 'feature cache folder (default: the user cache dir)')
    .option('--workers <n>', 'data-parallel training threads on the wasm backend (default: one per core)', (value) => workerCount(value), availableParallelism())
    .addOption(new Option('--encoder <name>', 'image encoder the features come from').choices(Object.keys(BUNDLED_ENCODERS)).default(DEFAULT_ENCODER))
    .action(async (dataset: string, _opts: unknown, cmd: Command) => {
      await runCompare(dataset, cmd.optsWithGlobals<CompareCommandOptions>());
    });
}

function configFromOptions(opts: CompareCommandOptions): TrainConfigInput {
  return {
    ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
    ...(opts.batch !== undefined ? { batchSize: opts.batch } : {}),
    ...(opts.hidden !== undefined ? { hiddenDim: opts.hidden } : {}),
    ...(opts.embed !== undefined ? { embedDim: opts.embed } : {}),
    ...(opts.lr !== undefined ? { learningRate: { lr: opts.lr } } : {}),
    ...(opts.dropout !== undefined ? { dropout: opts.dropout } : {}),
    ...(opts.minCount !== undefined ? { minWordCount: opts.minCount } : {}),
    ...(opts.maxLength !== undefined ? { maxLength: opts.maxLength } : {}),
    ...(opts.sampling ? { sampling: opts.sampling } : {}),
  };
}

/** The study's figures as the JSON line `--json` prints (4 decimals). */
function jsonReport(result: CompareResult): object {
  const r4 = (x: number | null): number | null => (x === null ? null : Math.round(x * 1e4) / 1e4);
  return {
    out: result.outDir,
    split: result.split,
    testImages: result.testImages,
    rows: result.rows.map((row) => ({
      schedule: row.schedule,
      runs: row.runs,
      test: Object.fromEntries(Object.entries(row.test).map(([k, v]) => [k, { mean: r4(v.mean), sd: r4(v.sd) }])),
      valCiderD: row.valCiderD.map(r4),
      finalEpsilon: r4(row.finalEpsilon),
    })),
    runs: result.runs.map((run) => ({ id: run.id, schedule: run.schedule, seed: run.seed, bestEpoch: run.bestEpoch, test: Object.fromEntries(Object.entries(run.test).map(([k, v]) => [k, r4(v)])) })),
    best: result.best,
    files: result.files,
    trained: result.trained,
  };
}

async function runCompare(datasetPath: string, opts: CompareCommandOptions): Promise<void> {
  let schedules: EpsilonScheduleType[];
  try {
    schedules = checkStudyRequest(opts.schedules.split(',').map((s) => s.trim()).filter((s) => s !== ''), opts.seeds);
  } catch (err) {
    throw new ExitError(`--schedules: ${(err as Error).message}`);
  }
  const out = path.resolve(opts.out ?? `compare-${path.basename(datasetPath.replace(/[\\/]+$/, '')).replace(/\.[^.]+$/, '')}`);
  await startBackend(opts, true);
  const interrupt = cancelOnSigint(opts, () => '\ninterrupted: finishing the current mini-batch and writing a checkpoint (Ctrl-C again to quit at once)');
  const bar = new ProgressBar(process.stderr, opts.quiet);
  const { encoder, pool, close } = await openTrainingEncoder(opts);
  try {
    const result = await compareSchedules(
      {
        dataset: { path: datasetPath, format: opts.format, ...(opts.images ? { imagesDir: opts.images } : {}) },
        schedules,
        seeds: opts.seeds,
        firstSeed: opts.firstSeed,
        config: configFromOptions(opts),
        split: { seed: opts.splitSeed, valFraction: opts.valFraction, testFraction: opts.testFraction },
        outDir: out,
        encoder,
        ...(pool ? { featureEncoder: pool } : {}),
        workers: opts.workers,
        ...(opts.cache ? { cacheDir: opts.cache } : {}),
        signal: interrupt.signal,
        name: path.basename(out),
        provenance: { command: ['caption-studio', ...process.argv.slice(2)].join(' ') },
        backend: currentBackend()?.backend ?? 'unknown',
      },
      {
        onDatasetProblems: (d) => {
          for (const line of problemLines(d.problems, 5, MORE_PROBLEMS)) note(opts, line);
        },
        onProgress: bar.listener,
        ...featureNotes(opts, bar, 5),
        onStart: (s) => {
          bar.stop();
          note(opts, `${s.runs.length} runs on ${s.train} training images, validating on ${s.val}, testing on ${s.test} (${s.split}); study in ${out}`);
        },
        onRunStart: (r) => {
          bar.stop();
          note(opts, `run ${r.index + 1}/${r.total}: ${r.schedule}, seed ${r.seed}${r.resumed ? ' (resumed from its checkpoint)' : ''}`);
        },
        onEpoch: (_r, e) => {
          bar.stop();
          note(opts, `  epoch ${e.epoch}/${e.epochs}: train loss ${e.trainLoss.toFixed(3)}, val CIDEr-D ${e.ciderD?.toFixed(3) ?? '—'}, ε ${e.epsilon.toFixed(3)}`);
        },
        onRunDone: (r, res, skipped) => {
          bar.stop();
          note(opts, `${skipped ? 'finished before' : 'done'}: ${r.id} test BLEU-4 ${res.test.bleu4.toFixed(3)}, CIDEr-D ${res.test.ciderD.toFixed(3)} (epoch ${res.bestEpoch})`);
        },
      },
    );
    bar.stop();
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(jsonReport(result))}\n`);
    } else {
      process.stdout.write(`${result.testImages} test images (${result.split}); mean ± sd over seeds\n`);
      process.stdout.write(formatTable(result.rows));
      note(opts, `table: ${result.files.csv}, ${result.files.json}; chart: ${result.files.png}; best model (${result.best.id}): ${result.best.modelDir}`);
    }
  } catch (err) {
    bar.stop();
    if (err instanceof CancelledError) throw new ExitError(`${err.message}; run the same command again to resume the study (finished runs are kept)`, 130);
    throw err;
  } finally {
    interrupt.release();
    await close();
  }
}
