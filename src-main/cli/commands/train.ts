/**
 * `caption-studio train <dataset> --out DIR`: reads the dataset, extracts (cached) features, trains with
 * scheduled sampling and writes the best model as a bundle in DIR (checkpoints in DIR/checkpoints). Ctrl-C writes
 * a checkpoint and exits; `--resume` continues from it.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { DATASET_FORMATS, type DatasetFormat, type SplitSpec } from '../../data/dataset-types.ts';
import { currentBackend } from '../../engine/backend.ts';
import { BUNDLED_ENCODERS, DEFAULT_ENCODER, type BundledEncoderName } from '../../engine/encoder.ts';
import { EPSILON_SCHEDULE_TYPES, SCHEDULE_PRESETS, type EpsilonSchedule } from '../../engine/schedules.ts';
import { DEFAULT_TRAIN_CONFIG as D } from '../../engine/train-config.ts';
import { DEFAULT_SPLIT } from '../../pipeline/training-data.ts';
import { CHECKPOINT_FILE } from '../../engine/checkpoint.ts';
import { recoverRun, runPaths } from '../../engine/train.ts';
import type { TrainConfigInput } from '../../engine/train-config.ts';
import { trainModel } from '../../pipeline/train-model.ts';
import { CancelledError } from '../../util/progress.ts';
import { featureNotes } from '../loaded-model.ts';
import { ProgressBar } from '../progress-bar.ts';
import { cancelOnSigint, openTrainingEncoder } from '../training-session.ts';
import { ExitError, finiteNumber, fraction, nonNegativeInt, MORE_PROBLEMS, note, positiveInt, problemLines, startBackend, workerCount, type GlobalOptions } from '../options.ts';

const SCHEDULES = EPSILON_SCHEDULE_TYPES;
type ScheduleName = (typeof SCHEDULES)[number];

interface TrainCommandOptions extends GlobalOptions {
  readonly out: string;
  readonly format: DatasetFormat | 'auto';
  readonly images?: string;
  readonly epochs?: number;
  readonly batch?: number;
  readonly hidden?: number;
  readonly embed?: number;
  readonly schedule?: ScheduleName;
  readonly k?: number;
  readonly c?: number;
  readonly epsMin?: number;
  readonly sampling?: 'sample' | 'argmax';
  readonly injection?: 'every' | 'init';
  readonly lr?: number;
  readonly dropout?: number;
  readonly patience?: number;
  readonly minCount?: number;
  readonly maxLength?: number;
  readonly seed: number;
  readonly valFraction: number;
  readonly testFraction: number;
  readonly resume?: boolean;
  readonly overwrite?: boolean;
  readonly cache?: string;
  readonly weights: 'float32' | 'float16' | 'uint8';
  readonly name?: string;
  readonly workers: number;
  readonly encoder: BundledEncoderName;
}

/** The schedule from the command line; parameters left out get the defaults written beside each type. */
export function scheduleFromOptions(opts: Pick<TrainCommandOptions, 'schedule' | 'k' | 'c' | 'epsMin'>): EpsilonSchedule | undefined {
  const { schedule, k, c, epsMin } = opts;
  if (schedule === undefined) {
    if (k !== undefined || c !== undefined || epsMin !== undefined) throw new ExitError('--k, --c and --eps-min need --schedule');
    return undefined;
  }
  const preset: EpsilonSchedule = SCHEDULE_PRESETS[schedule];
  switch (preset.type) {
    case 'none':
    case 'always':
      return preset;
    case 'linear': // ε_i = max(ε_min, k − c·i)
      return { type: 'linear', k: k ?? preset.k, c: c ?? preset.c, epsMin: epsMin ?? preset.epsMin };
    case 'exponential': // ε_i = k^i
      return { type: 'exponential', k: k ?? preset.k, epsMin: epsMin ?? preset.epsMin ?? 0 };
    case 'inverse-sigmoid': // ε_i = k / (k + exp(i/k))
      return { type: 'inverse-sigmoid', k: k ?? preset.k, epsMin: epsMin ?? preset.epsMin ?? 0 };
  }
}

function configFromOptions(opts: TrainCommandOptions): TrainConfigInput {
  const schedule = scheduleFromOptions(opts);
  return {
    ...(opts.epochs !== undefined ? { epochs: opts.epochs } : {}),
    ...(opts.batch !== undefined ? { batchSize: opts.batch } : {}),
    ...(opts.hidden !== undefined ? { hiddenDim: opts.hidden } : {}),
    ...(opts.embed !== undefined ? { embedDim: opts.embed } : {}),
    ...(schedule ? { schedule } : {}),
    ...(opts.sampling ? { sampling: opts.sampling } : {}),
    ...(opts.injection ? { injection: opts.injection } : {}),
    ...(opts.lr !== undefined ? { learningRate: { lr: opts.lr } } : {}),
    ...(opts.dropout !== undefined ? { dropout: opts.dropout } : {}),
    ...(opts.patience !== undefined ? { patience: opts.patience } : {}),
    ...(opts.minCount !== undefined ? { minWordCount: opts.minCount } : {}),
    ...(opts.maxLength !== undefined ? { maxLength: opts.maxLength } : {}),
    ...(opts.resume ? {} : { seed: opts.seed }),
  };
}

/** A schedule as the help shows it, e.g. "inverse-sigmoid, k 150, floor 0.75". */
function describeSchedule(schedule: EpsilonSchedule): string {
  const parts: string[] = [schedule.type];
  if ('k' in schedule) parts.push(`k ${schedule.k}`);
  if ('c' in schedule) parts.push(`c ${schedule.c}`);
  if ('epsMin' in schedule && schedule.epsMin !== undefined) parts.push(`floor ${schedule.epsMin}`);
  return parts.join(', ');
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a caption model on a dataset (folder with sidecar .txt, CSV/TSV, COCO JSON, Karpathy JSON, Flickr8k tokens)')
    .argument('<dataset>', 'dataset file or folder')
    .requiredOption('-o, --out <dir>', 'folder for the trained model (checkpoints go to <dir>/checkpoints)')
    .addOption(new Option('--format <format>', 'dataset format').choices(['auto', ...DATASET_FORMATS]).default('auto'))
    .option('--images <dir>', 'where the images are, when not beside the annotation file')
    .option('-e, --epochs <n>', `epochs (default ${D.epochs})`, positiveInt)
    .option('--batch <n>', `captions per mini-batch (default ${D.batchSize})`, positiveInt)
    .option('--hidden <n>', `LSTM hidden size (default ${D.hiddenDim})`, positiveInt)
    .option('--embed <n>', `word embedding size (default ${D.embedDim})`, positiveInt)
    .addOption(new Option('--schedule <type>', `scheduled-sampling ε schedule (default ${describeSchedule(D.schedule)})`).choices(SCHEDULES))
    .option('--k <x>', 'schedule parameter k', finiteNumber)
    .option('--c <x>', 'linear schedule slope c', finiteNumber)
    .option('--eps-min <x>', 'floor of ε', finiteNumber)
    .addOption(new Option('--sampling <how>', `the model's own word: sampled or argmax (default ${D.sampling})`).choices(['sample', 'argmax']))
    .addOption(new Option('--injection <where>', `W_ih·v at every step or only at t = 0 (default ${D.injection})`).choices(['every', 'init']))
    .option('--lr <x>', `Adam learning rate (default ${D.learningRate.lr})`, finiteNumber)
    .option('--dropout <p>', `dropout probability (default ${D.dropout})`, fraction)
    .option('--patience <n>', `epochs without improvement before stopping (default ${D.patience}; 0 = never)`, nonNegativeInt)
    .option('--min-count <n>', `words seen fewer times become <unk> (default ${D.minWordCount})`, positiveInt)
    .option('--max-length <n>', `longest caption in words (default ${D.maxLength})`, positiveInt)
    .option('--seed <n>', 'seed for the split, initialisation, shuffling and sampling', nonNegativeInt, DEFAULT_SPLIT.seed)
    .option('--val-fraction <x>', 'validation share when the dataset has no split', fraction, DEFAULT_SPLIT.valFraction)
    .option('--test-fraction <x>', 'held-out test share when the dataset has no split', fraction, DEFAULT_SPLIT.testFraction)
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--overwrite', 'start afresh even if --out holds a run')
    .option('--cache <dir>', 'feature cache folder (default: the user cache dir)')
    .addOption(new Option('--weights <type>', 'how the model stores its weights').choices(['float32', 'float16', 'uint8']).default('float32'))
    .option('--name <name>', 'model name shown in the app')
    .option('--workers <n>', 'data-parallel training threads on the wasm backend (default: one per core)', (value) => workerCount(value), availableParallelism())
    .addOption(new Option('--encoder <name>', 'image encoder the features come from').choices(Object.keys(BUNDLED_ENCODERS)).default(DEFAULT_ENCODER))
    .action(async (dataset: string, _opts: unknown, cmd: Command) => {
      const given = (name: string): boolean => {
        const source = cmd.getOptionValueSource(name);
        return source !== undefined && source !== 'default';
      };
      await runTrain(dataset, cmd.optsWithGlobals<TrainCommandOptions>(), {
        seed: given('seed'),
        valFraction: given('valFraction'),
        testFraction: given('testFraction'),
      });
    });
}

/** Which of the split options were given on the command line (rather than left at their defaults). */
type SplitOptionsGiven = { readonly [K in keyof SplitSpec]: boolean };

async function runTrain(datasetPath: string, opts: TrainCommandOptions, given: SplitOptionsGiven): Promise<void> {
  const config = configFromOptions(opts);
  const out = path.resolve(opts.out);
  const runDir = path.join(out, 'checkpoints');
  const latest = runPaths(runDir).latest;
  await recoverRun(runDir);
  const holdsRun = existsSync(path.join(latest, CHECKPOINT_FILE));
  if (opts.resume && !holdsRun) throw new ExitError(`${out}: nothing to resume (no checkpoint in ${latest}); leave out --resume to start a run`);
  if (!opts.resume && !opts.overwrite && holdsRun) {
    throw new ExitError(`${out} already holds a training run: add --resume to continue it, or --overwrite to start afresh`);
  }
  // A resumed run must see the same split (else its training data differs): options not given again come from the run.
  const split: Partial<SplitSpec> = {
    ...(given.seed || !opts.resume ? { seed: opts.seed } : {}),
    ...(given.valFraction || !opts.resume ? { valFraction: opts.valFraction } : {}),
    ...(given.testFraction || !opts.resume ? { testFraction: opts.testFraction } : {}),
  };
  await startBackend(opts, true);

  let phase = 'features' as 'features' | 'training';
  const interrupt = cancelOnSigint(opts, () =>
    phase === 'training'
      ? '\ninterrupted: finishing the current mini-batch and writing a checkpoint (Ctrl-C again to quit at once)'
      : '\ninterrupted: stopping feature extraction (Ctrl-C again to quit at once)',
  );
  const bar = new ProgressBar(process.stderr, opts.quiet);
  const { encoder, pool, close } = await openTrainingEncoder(opts);
  try {
    const result = await trainModel(
      {
        dataset: { path: datasetPath, format: opts.format, ...(opts.images ? { imagesDir: opts.images } : {}) },
        config,
        split,
        runDir,
        ...(opts.resume ? { resume: true } : {}),
        ...(opts.overwrite ? { overwrite: true } : {}),
        modelDir: out,
        weights: opts.weights,
        name: opts.name ?? path.basename(out),
        encoder,
        ...(pool ? { featureEncoder: pool } : {}),
        workers: opts.workers,
        ...(opts.cache ? { cacheDir: opts.cache } : {}),
        provenance: { command: ['caption-studio', ...process.argv.slice(2)].join(' ') },
        signal: interrupt.signal,
      },
      {
        onDatasetProblems: (d) => {
          for (const line of problemLines(d.problems, 5, MORE_PROBLEMS)) note(opts, line);
        },
        onProgress: bar.listener,
        ...featureNotes(opts, bar, 5),
        onStart: (s) => {
          bar.stop();
          phase = 'training';
          note(opts, `training on ${s.train} images, validating on ${s.val} (${s.format} dataset ${s.source})`);
        },
        onEpoch: (e) => {
          bar.stop();
          const val = e.valLoss === null ? '' : `, val loss ${e.valLoss.toFixed(3)}, BLEU-4 ${e.bleu4?.toFixed(3)}, CIDEr-D ${e.ciderD?.toFixed(3)}`;
          note(opts, `epoch ${e.epoch}/${e.epochs}: train loss ${e.trainLoss.toFixed(3)}${val}, ε ${e.epsilon.toFixed(3)}${e.improved ? ' (best so far)' : ''}`);
          for (const s of e.samples) note(opts, `  ${path.basename(s.id)}: ${s.caption}`);
        },
      },
      currentBackend()?.backend ?? 'unknown',
    );
    bar.stop();
    const best = result.best ? `best epoch ${result.best.epoch} (${result.best.metric} ${result.best.value.toFixed(3)})` : 'no best epoch';
    note(opts, `done (${result.stoppedBy}): ${best}; model written to ${out}`);
  } catch (err) {
    bar.stop();
    if (err instanceof CancelledError) {
      throw new ExitError(
        phase === 'training'
          ? `${err.message} (checkpoint in ${latest}; run the same command with --resume)`
          : `${err.message}: features computed so far are cached; run the same command again to go on`,
        130,
      );
    }
    throw err;
  } finally {
    interrupt.release();
    await close();
  }
}
