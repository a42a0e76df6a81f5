/**
 * `caption-studio export <dataset|dir…> --out FILE`: captions images (a dataset's, or folders/files) with a
 * model and writes csv / jsonl / sidecar / coco-results. A dataset's reference captions go along in a
 * `references` column.
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import { EXPORT_FORMATS, type ExportFormat } from '../../data/export-formats.ts';
import { EXPORT_DECODING, exportModelCaptions, type ExportCaptionsResult } from '../../pipeline/export-captions.ts';
import { LoadedModel } from '../loaded-model.ts';
import { ProgressBar } from '../progress-bar.ts';
import { SHARD_HELP, shardArg } from '../shard-option.ts';
import { SHARD_MANIFEST_SUFFIX } from '../../data/shard-manifest.ts';
import type { ShardSpec } from '../../util/shard.ts';
import { captionWorkersOption, ExitError, modelDirOf, nonNegativeInt, MORE_PROBLEMS, note, positiveInt, problemLines, type GlobalOptions } from '../options.ts';

interface ExportCommandOptions extends GlobalOptions {
  readonly out?: string;
  readonly model?: string;
  readonly format: ExportFormat;
  readonly bom?: boolean;
  readonly beam: number;
  readonly blockNgram: number;
  readonly dataset?: boolean;
  readonly overwrite?: boolean;
  readonly shard?: ShardSpec;
  readonly workers: number;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .description('caption a dataset or folders of images and export the captions')
    .argument('<inputs...>', 'a dataset file/folder, or image files and folders')
    .option('-o, --out <file>', 'output file (not needed for --format sidecar)')
    .option('-m, --model <dir>', 'model bundle folder (default: the bundled model)')
    .addOption(new Option('--format <format>', 'output format').choices(EXPORT_FORMATS).default('csv'))
    .option('--bom', 'start the CSV with a UTF-8 byte-order mark (for Excel)')
    .option('-b, --beam <n>', 'beam width', positiveInt, EXPORT_DECODING.beamSize)
    .option('--block-ngram <n>', 'forbid repeating any n-gram of this size (0 = off)', nonNegativeInt, EXPORT_DECODING.blockRepeatedNgram)
    .option('--dataset', 'read the single input folder as a dataset (sidecar captions become references)')
    .option('--overwrite', 'sidecar: replace existing caption files')
    .option('--shard <i/n>', `${SHARD_HELP}; writes FILE${SHARD_MANIFEST_SUFFIX} for \`caption-studio merge\``, shardArg)
    .addOption(captionWorkersOption())
    .action(async (inputs: string[], _opts: unknown, cmd: Command) => {
      await runExport(inputs, cmd.optsWithGlobals<ExportCommandOptions>());
    });
}

async function runExport(inputs: string[], opts: ExportCommandOptions): Promise<void> {
  if (opts.format !== 'sidecar' && !opts.out) throw new ExitError(`--out is needed for --format ${opts.format}`);
  const modelDir = modelDirOf(opts.model);
  const bar = new ProgressBar(process.stderr, opts.quiet);
  const loaded = new LoadedModel(opts, modelDir);
  let report: ExportCaptionsResult;
  try {
    report = await exportModelCaptions(
      {
        inputs,
        asDataset: opts.dataset ?? false,
        format: opts.format,
        ...(opts.out ? { out: opts.out } : {}),
        ...(opts.bom ? { bom: true } : {}),
        ...(opts.overwrite ? { overwrite: true } : {}),
        beamSize: opts.beam,
        blockRepeatedNgram: opts.blockNgram,
        ...(opts.shard ? { shard: opts.shard } : {}),
        workers: opts.workers,
        load: loaded.load,
      },
      {
        onDatasetProblems: (problems) => {
          for (const line of problemLines(problems, 20, MORE_PROBLEMS)) process.stderr.write(`${line}\n`);
        },
        onUnreadable: (message) => process.stderr.write(`${message}\n`),
        onProgress: bar.listener,
        onImageFailed: (file, error) => {
          bar.stop();
          process.stderr.write(`${file}: ${error}\n`);
        },
        onWarning: (message) => {
          bar.stop();
          process.stderr.write(`${message}\n`);
        },
      },
    );
  } finally {
    bar.stop();
    loaded.dispose();
  }
  for (const s of report.skipped) process.stderr.write(`skipped ${s.path}: ${s.reason}\n`);
  if (report.rows === 0 && report.images > 0) {
    throw new ExitError(
      opts.format === 'sidecar'
        ? `no caption files written: all ${report.skipped.length} were skipped${opts.overwrite ? '' : ' (--overwrite replaces existing ones)'}`
        : `nothing exported: all ${report.skipped.length} rows were skipped`,
    );
  }
  const where = opts.format === 'sidecar' ? `${report.written.length} caption files` : path.resolve(opts.out!);
  note(opts, `exported ${report.rows} captions to ${where}${report.failed ? ` (${report.failed} images failed)` : ''}`);
}
