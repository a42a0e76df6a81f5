/** `caption-studio convert <dataset> --to csv|jsonl|sidecar|coco [--out FILE]`: a dataset's own captions in another format. */
import { Option, type Command } from 'commander';
import { CONVERT_FORMATS, convertDataset, type ConvertFormat } from '../../data/convert.ts';
import { DATASET_FORMATS, type DatasetFormat } from '../../data/dataset-types.ts';
import { loadDataset } from '../../data/dataset.ts';
import { ExitError, problemLines, type GlobalOptions } from '../options.ts';

interface ConvertCommandOptions extends GlobalOptions {
  readonly to: ConvertFormat;
  readonly out?: string;
  readonly format: DatasetFormat | 'auto';
  readonly images?: string;
  readonly overwrite?: boolean;
  readonly bom?: boolean;
  readonly json?: boolean;
}

export function registerConvert(program: Command): void {
  program
    .command('convert')
    .description("write a dataset's own captions in another format (no model): CSV, JSONL, caption files beside the images, or COCO JSON")
    .argument('<dataset>', 'dataset file or folder')
    .addOption(new Option('--to <format>', 'output format').choices([...CONVERT_FORMATS]).makeOptionMandatory())
    .option('--out <file>', 'output file (not for --to sidecar)')
    .addOption(new Option('--format <format>', 'input dataset format').choices(['auto', ...DATASET_FORMATS]).default('auto'))
    .option('--images <dir>', 'where the images are, when not beside the annotation file')
    .option('--overwrite', 'sidecar: replace existing caption files (they may hold other captions)')
    .option('--bom', 'csv: start with a UTF-8 byte-order mark (for Excel)')
    .option('--json', 'print the report as one JSON object')
    .action(async (target: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<ConvertCommandOptions>();
      if (opts.to !== 'sidecar' && !opts.out) throw new ExitError(`convert: --to ${opts.to} needs --out FILE`, 2);
      const dataset = await loadDataset(target, { format: opts.format, ...(opts.images ? { imagesDir: opts.images } : {}) });
      for (const line of problemLines(dataset.problems, 20)) process.stderr.write(`${line}\n`);
      const report = await convertDataset(dataset, { to: opts.to, ...(opts.out ? { out: opts.out } : {}), overwrite: opts.overwrite ?? false, bom: opts.bom ?? false });
      for (const s of report.skipped.slice(0, 20)) process.stderr.write(`${s.path}: ${s.reason}\n`);
      if (report.skipped.length > 20) process.stderr.write(`… and ${report.skipped.length - 20} more skipped\n`);
      if (opts.json) process.stdout.write(`${JSON.stringify({ dataset: dataset.source, from: dataset.format, ...report })}\n`);
      else if (!opts.quiet) {
        const where = report.format === 'sidecar' ? `${report.written.length} caption files beside the images` : report.written[0];
        process.stdout.write(`${report.captions} captions of ${report.images} images → ${where}${report.skipped.length ? ` (${report.skipped.length} skipped)` : ''}\n`);
      }
    });
}
