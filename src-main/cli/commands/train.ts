/**
 * `caption-studio train <dataset> --out DIR`: reads the dataset, extracts (cached) features, trains with
 * scheduled sampling and writes the best model as a bundle in DIR (checkpoints in DIR/checkpoints). Ctrl-C writes
 * a checkpoint and exits; `--resume` continues from it.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { DATASET_FORMATS, type DatasetFormat, type SplitSpec } from '../../data/dataset-types.ts';
import { BUNDLE_MODEL_FILE, BUNDLE_WEIGHTS_FILE, readBundleInfo, saveBundle } from '../../engine/bundle.ts';
import { disposeCaptionModel } from '../../engine/caption-model.ts';
import { currentBackend } from '../../engine/backend.ts';
import { BUNDLED_ENCODERS, bundledEncoderSpec, DEFAULT_ENCODER, loadEncoder, type BundledEncoderName } from '../../engine/encoder.ts';
import type { EpsilonSchedule } from '../../engine/schedules.ts';
import { CHECKPOINT_FILE, readCheckpointMeta } from '../../engine/checkpoint.ts';
import { recoverRun, runPaths, train } from '../../engine/train.ts';
import type { TrainConfigInput } from '../../engine/train-config.ts';
import { openDataset, prepareTrainData } from '../../pipeline/training-data.ts';
import { CancelledError } from '../../util/progress.ts';
import { recordedSplit } from '../model-split.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { ProgressBar } from '../progress-bar.ts';
import { ExitError, finiteNumber, fraction, nonNegativeInt, MORE_PROBLEMS, note, positiveInt, problemLines, startBackend, type GlobalOptions } from '../options.ts';

const SCHEDULES = ['none', 'linear', 'exponential', 'inverse-sigmoid', 'always'] as const;
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
  readonly encoder: BundledEncoderName;
}

/** The schedule from the command line; parameters left out get the defaults written beside each type. */
export function scheduleFromOptions(opts: Pick<TrainCommandOptions, 'schedule' | 'k' | 'c' | 'epsMin'>): EpsilonSchedule | undefined {
  const { schedule, k, c, epsMin } = opts;
  switch (schedule) {
    case undefined:
      if (k !== undefined || c !== undefined || epsMin !== undefined) throw new ExitError('--k, --c and --eps-min need --schedule');
      return undefined;
    case 'none':
    case 'always':
      return { type: schedule };
    case 'linear': // ε_i = max(ε_min, k − c·i): from 1 down to the floor over 2,000 batches by default
      return { type: 'linear', k: k ?? 1, c: c ?? 1.25e-4, epsMin: epsMin ?? 0.75 };
    case 'exponential': // ε_i = k^i
      return { type: 'exponential', k: k ?? 0.9998, epsMin: epsMin ?? 0.75 };
    case 'inverse-sigmoid': // ε_i = k / (k + exp(i/k))
      return { type: 'inverse-sigmoid', k: k ?? 150, epsMin: epsMin ?? 0.75 };
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

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a caption model on a dataset (folder with sidecar .txt, CSV/TSV, COCO JSON, Karpathy JSON, Flickr8k tokens)')
    .argument('<dataset>', 'dataset file or folder')
    .requiredOption('-o, --out <dir>', 'folder for the trained model (checkpoints go to <dir>/checkpoints)')
    .addOption(new Option('--format <format>', 'dataset format').choices(['auto', ...DATASET_FORMATS]).default('auto'))
    .option('--images <dir>', 'where the images are, when not beside the annotation file')
    .option('-e, --epochs <n>', 'epochs (default 20)', positiveInt)
    .option('--batch <n>', 'captions per mini-batch (default 64)', positiveInt)
    .option('--hidden <n>', 'LSTM hidden size (default 512)', positiveInt)
    .option('--embed <n>', 'word embedding size (default 256)', positiveInt)
    .addOption(new Option('--schedule <type>', 'scheduled-sampling ε schedule (default inverse-sigmoid, k 150, floor 0.75)').choices(SCHEDULES))
    .option('--k <x>', 'schedule parameter k', finiteNumber)
    .option('--c <x>', 'linear schedule slope c', finiteNumber)
    .option('--eps-min <x>', 'floor of ε', finiteNumber)
    .addOption(new Option('--sampling <how>', "the model's own word: sampled or argmax (default sample)").choices(['sample', 'argmax']))
    .addOption(new Option('--injection <where>', 'W_ih·v at every step or only at t = 0 (default every)').choices(['every', 'init']))
    .option('--lr <x>', 'Adam learning rate (default 2e-3)', finiteNumber)
    .option('--dropout <p>', 'dropout probability (default 0.3)', fraction)
    .option('--patience <n>', 'epochs without improvement before stopping (default 5; 0 = never)', nonNegativeInt)
    .option('--min-count <n>', 'words seen fewer times become <unk> (default 5)', positiveInt)
    .option('--max-length <n>', 'longest caption in words (default 16)', positiveInt)
    .option('--seed <n>', 'seed for the split, initialisation, shuffling and sampling', nonNegativeInt, 1)
    .option('--val-fraction <x>', 'validation share when the dataset has no split', fraction, 0.1)
    .option('--test-fraction <x>', 'held-out test share when the dataset has no split', fraction, 0.1)
    .option('--resume', 'continue the run in --out from its last checkpoint')
    .option('--overwrite', 'start afresh even if --out holds a run')
    .option('--cache <dir>', 'feature cache folder (default: the user cache dir)')
    .addOption(new Option('--weights <type>', 'how the model stores its weights').choices(['float32', 'float16', 'uint8']).default('float32'))
    .option('--name <name>', 'model name shown in the app')
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

/**
 * The split a run in `runDir` was started with: from its best bundle's provenance, else the seed in its latest
 * checkpoint (the fractions were then the defaults). Empty when neither can be read.
 */
async function splitOfRun(runDir: string): Promise<Partial<SplitSpec>> {
  const { latest, best } = runPaths(runDir);
  const info = await readBundleInfo(best).catch(() => undefined);
  const recorded = info ? recordedSplit(info.metadata) : undefined;
  if (recorded) return recorded;
  const checkpoint = await readCheckpointMeta(latest).catch(() => undefined);
  return checkpoint ? { seed: checkpoint.meta.config.seed } : {};
}

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
  const ofRun = opts.resume ? await splitOfRun(runDir) : {};
  const split: SplitSpec = {
    seed: given.seed ? opts.seed : (ofRun.seed ?? opts.seed),
    valFraction: given.valFraction ? opts.valFraction : (ofRun.valFraction ?? opts.valFraction),
    testFraction: given.testFraction ? opts.testFraction : (ofRun.testFraction ?? opts.testFraction),
  };
  await startBackend(opts);
  const dataset = await openDataset(datasetPath, { format: opts.format, ...(opts.images ? { imagesDir: opts.images } : {}), split });
  for (const line of problemLines(dataset.problems, 5, MORE_PROBLEMS)) note(opts, line);

  const controller = new AbortController();
  let phase: 'features' | 'training' = 'features';
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    note(
      opts,
      phase === 'training'
        ? '\ninterrupted: finishing the current mini-batch and writing a checkpoint (Ctrl-C again to quit at once)'
        : '\ninterrupted: stopping feature extraction (Ctrl-C again to quit at once)',
    );
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const bar = new ProgressBar(process.stderr, opts.quiet);
  const encoder = await loadEncoder(bundledEncoderSpec(opts.encoder));
  try {
    const { data, failures } = await prepareTrainData(dataset, encoder, {
      ...(opts.cache ? { cacheDir: opts.cache } : {}),
      signal: controller.signal,
      onProgress: bar.listener,
      onWarning: (message) => {
        bar.stop();
        note(opts, message);
      },
    });
    bar.stop();
    for (const f of failures.slice(0, 5)) note(opts, `skipped ${f.error}`);
    if (data.train.length === 0) throw new ExitError(`${dataset.source}: no readable captioned images to train on`);
    note(opts, `training on ${data.train.length} images, validating on ${data.val.length} (${dataset.format} dataset ${dataset.source})`);

    phase = 'training';
    const result = await train({
      data,
      config,
      runDir,
      ...(opts.resume ? { resume: true } : {}),
      ...(opts.overwrite ? { overwrite: true } : {}),
      signal: controller.signal,
      name: opts.name ?? path.basename(out),
      provenance: {
        command: ['caption-studio', ...process.argv.slice(2)].join(' '),
        dataset: dataset.source,
        format: dataset.format,
        split: dataset.splits.kind === 'seeded' ? { seed: split.seed, valFraction: split.valFraction, testFraction: split.testFraction } : 'dataset',
        trainImages: data.train.length,
        valImages: data.val.length,
        unreadableImages: failures.length,
        backend: currentBackend()?.backend ?? 'unknown',
      },
      onProgress: bar.listener,
      onEpoch: (e) => {
        bar.stop();
        const val = e.valLoss === null ? '' : `, val loss ${e.valLoss.toFixed(3)}, BLEU-4 ${e.bleu4?.toFixed(3)}, CIDEr-D ${e.ciderD?.toFixed(3)}`;
        note(opts, `epoch ${e.epoch}/${e.epochs}: train loss ${e.trainLoss.toFixed(3)}${val}, ε ${e.epsilon.toFixed(3)}${e.improved ? ' (best so far)' : ''}`);
        for (const s of e.samples) note(opts, `  ${path.basename(s.id)}: ${s.caption}`);
      },
    });
    bar.stop();
    try {
      if (opts.weights === 'float32') {
        await mkdir(out, { recursive: true });
        // Weights first: model.json holds their checksum, so a pair torn by a crash is refused on load.
        for (const file of [BUNDLE_WEIGHTS_FILE, BUNDLE_MODEL_FILE]) await writeFileAtomic(path.join(out, file), await readFile(path.join(result.bestDir, file)));
      } else {
        await saveBundle(out, result.model, { weights: opts.weights });
      }
    } finally {
      disposeCaptionModel(result.model);
    }
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
    process.off('SIGINT', onSigint);
    encoder.dispose();
  }
}
