/**
 * `caption-studio export <dataset|dir…> --out FILE`: captions images (a dataset's, or folders/files) with a
 * model and writes csv / jsonl / sidecar / coco-results. A dataset's reference captions go along in a
 * `references` column.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { checkExportOutput, EXPORT_FORMATS, exportCaptions, toCocoResults, type ExportFormat, type ExportRow } from '../../data/export.ts';
import { isImageName } from '../../data/formats/common.ts';
import { expandImagePaths } from '../../data/image-paths.ts';
import { loadDataset } from '../../data/dataset.ts';
import { loadBundle } from '../../engine/bundle.ts';
import { disposeCaptionModel, modelLabel } from '../../engine/caption-model.ts';
import { loadEncoder } from '../../engine/encoder.ts';
import { encoderSpecFor } from '../../engine/encoder-registry.ts';
import { captionImages } from '../../pipeline/caption-images.ts';
import { SHARD_MANIFEST_SUFFIX, writeShardManifest } from '../../data/shard-manifest.ts';
import { inputsFingerprint, type ShardSpec } from '../../util/shard.ts';
import { ProgressBar } from '../progress-bar.ts';
import { SHARD_HELP, shardArg, shareOf } from '../shard-option.ts';
import { ExitError, modelDirOf, nonNegativeInt, MORE_PROBLEMS, note, positiveInt, problemLines, startBackend, type GlobalOptions } from '../options.ts';

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
    .option('-b, --beam <n>', 'beam width', positiveInt, 3)
    .option('--block-ngram <n>', 'forbid repeating any n-gram of this size (0 = off)', nonNegativeInt, 2)
    .option('--dataset', 'read the single input folder as a dataset (sidecar captions become references)')
    .option('--overwrite', 'sidecar: replace existing caption files')
    .option('--shard <i/n>', `${SHARD_HELP}; writes FILE${SHARD_MANIFEST_SUFFIX} for \`caption-studio merge\``, shardArg)
    .action(async (inputs: string[], _opts: unknown, cmd: Command) => {
      await runExport(inputs, cmd.optsWithGlobals<ExportCommandOptions>());
    });
}

interface Target {
  readonly path: string;
  readonly references?: readonly string[];
  /** The COCO image id, when the dataset is COCO (for coco-results). */
  readonly imageId?: string;
}

/** What to caption, and the dataset file read for it (an output must not overwrite it). */
async function targetsOf(inputs: readonly string[], asDataset: boolean): Promise<{ targets: Target[]; datasetSource?: string }> {
  if (inputs.length === 1) {
    const input = inputs[0]!;
    const info = await stat(input).catch(() => undefined);
    if (info && ((info.isFile() && !isImageName(input)) || (info.isDirectory() && asDataset))) {
      const dataset = await loadDataset(input);
      for (const line of problemLines(dataset.problems, 20, MORE_PROBLEMS)) process.stderr.write(`${line}\n`);
      const targets = dataset.items.map((item) => ({
        path: item.imagePath,
        references: item.captions,
        ...(dataset.format === 'coco' ? { imageId: item.id } : {}),
      }));
      return { targets, datasetSource: dataset.source };
    }
  }
  const paths = await expandImagePaths(inputs, { onUnreadable: (_dir, message) => process.stderr.write(`${message}\n`) });
  return { targets: paths.map((p) => ({ path: p })) };
}

async function runExport(inputs: string[], opts: ExportCommandOptions): Promise<void> {
  if (opts.format !== 'sidecar' && !opts.out) throw new ExitError(`--out is needed for --format ${opts.format}`);
  const { targets: all, datasetSource } = await targetsOf(inputs, opts.dataset ?? false);
  if (opts.format !== 'sidecar') await checkExportOutput(opts.out!, datasetSource ? [...inputs, datasetSource] : inputs);
  if (all.length === 0) throw new ExitError(`no images found in ${inputs.join(', ')}`);
  const { share, keys } = shareOf(all, (t) => t.path, inputs, opts.shard);
  const targets = share.map((s) => s.item);
  const rowIndex: number[] = [];
  const modelDir = modelDirOf(opts.model);
  await startBackend(opts);
  const model = await loadBundle(modelDir);
  const encoder = await loadEncoder(encoderSpecFor(model.encoderId));
  const bar = new ProgressBar(process.stderr, opts.quiet);
  const rows: ExportRow[] = [];
  let failed = 0;
  try {
    const name = modelLabel(model);
    const results = captionImages(
      targets.map((t) => t.path),
      { model, encoder, tags: 0, caption: { beamSize: opts.beam, blockRepeatedNgram: opts.blockNgram }, onProgress: bar.listener },
    );
    let i = 0;
    for await (const r of results) {
      const target = targets[i++]!;
      if (r.ok) {
        rowIndex.push(share[i - 1]!.index);
        rows.push({ path: r.path, caption: r.caption, score: Math.round(r.score * 1e4) / 1e4, model: name, ...(target.references ? { references: target.references } : {}), ...(target.imageId !== undefined ? { imageId: target.imageId } : {}) });
      } else {
        failed++;
        bar.stop();
        process.stderr.write(`${r.path}: ${r.error}\n`);
      }
    }
  } finally {
    bar.stop();
    encoder.dispose();
    disposeCaptionModel(model);
  }
  if (rows.length === 0 && targets.length > 0) throw new ExitError(`none of the ${targets.length} images could be captioned`);
  if (opts.format === 'coco-results' && toCocoResults(rows).results.length === 0) {
    throw new ExitError('nothing to export as coco-results: no image has a COCO image id (export a COCO dataset, or name files by their id)');
  }
  const report = await exportCaptions(rows, {
    format: opts.format,
    ...(opts.out ? { out: opts.out } : {}),
    ...(opts.bom ? { bom: true } : {}),
    ...(opts.overwrite ? { overwrite: true } : {}),
  });
  for (const s of report.skipped) process.stderr.write(`skipped ${s.path}: ${s.reason}\n`);
  if (opts.shard && opts.format !== 'sidecar') {
    const manifest = { version: 1, shard: opts.shard, total: all.length, inputs: inputsFingerprint(keys), format: opts.format, bom: opts.bom ?? false } as const;
    await writeShardManifest(opts.out!, { ...manifest, rows: rows.map((row, k) => ({ index: rowIndex[k]!, row })) });
  }
  if (report.rows === 0 && targets.length > 0) {
    throw new ExitError(
      opts.format === 'sidecar'
        ? `no caption files written: all ${report.skipped.length} were skipped${opts.overwrite ? '' : ' (--overwrite replaces existing ones)'}`
        : `nothing exported: all ${report.skipped.length} rows were skipped`,
    );
  }
  const where = opts.format === 'sidecar' ? `${report.written.length} caption files` : path.resolve(opts.out!);
  note(opts, `exported ${report.rows} captions to ${where}${failed ? ` (${failed} images failed)` : ''}`);
}
