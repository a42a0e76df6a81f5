/** `caption-studio stats <dataset>`: counts, vocabulary size, caption lengths and the dataset's problems. */
import { Option, type Command } from 'commander';
import { DATASET_FORMATS, type DatasetFormat } from '../../data/dataset-types.ts';
import { datasetStats, loadDataset } from '../../data/dataset.ts';
import { checkImageFiles } from '../../data/images.ts';
import { RateMeter } from '../../util/progress.ts';
import { ProgressBar } from '../progress-bar.ts';
import { positiveInt, problemLines, type GlobalOptions } from '../options.ts';
import { DEFAULT_TRAIN_CONFIG } from '../../engine/train-config.ts';

interface StatsCommandOptions extends GlobalOptions {
  readonly format: DatasetFormat | 'auto';
  readonly images?: string;
  readonly minCount: number;
  readonly json?: boolean;
  readonly checkImages?: boolean;
}

export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('describe a dataset: images, captions, missing files, vocabulary, caption lengths')
    .argument('<dataset>', 'dataset file or folder')
    .addOption(new Option('--format <format>', 'dataset format').choices(['auto', ...DATASET_FORMATS]).default('auto'))
    .option('--images <dir>', 'where the images are, when not beside the annotation file')
    .option('--min-count <n>', 'vocabulary threshold: words seen at least this often', positiveInt, DEFAULT_TRAIN_CONFIG.minWordCount)
    .option('--check-images', 'also read every image file and report those that would not load (not an image, empty, truncated, over the limits)')
    .option('--json', 'print one JSON object')
    .action(async (target: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<StatsCommandOptions>();
      const dataset = await loadDataset(target, { format: opts.format, ...(opts.images ? { imagesDir: opts.images } : {}) });
      const stats = datasetStats(dataset, { minWordCount: opts.minCount });
      // The problems go to stderr in both forms, so stdout stays one JSON object with --json.
      for (const line of problemLines(dataset.problems, 20)) process.stderr.write(`${line}\n`);
      let unreadableImages: number | undefined;
      if (opts.checkImages) {
        const bar = new ProgressBar(process.stderr, opts.quiet);
        const meter = new RateMeter();
        const errors = await checkImageFiles(dataset.items.map((item) => item.imagePath), {
          onDone: (done, total) => {
            const { rate, eta } = meter.update(done);
            bar.update({ task: 'check', done, total, rate, etaSeconds: eta(total) });
          },
        });
        bar.stop();
        for (const err of errors.slice(0, 20)) process.stderr.write(`${err.message}\n`);
        if (errors.length > 20) process.stderr.write(`… and ${errors.length - 20} more unreadable images\n`);
        unreadableImages = errors.length;
      }
      if (opts.json) {
        const { lengthHistogram: _h, ...rest } = stats;
        const checked = unreadableImages === undefined ? {} : { unreadableImages };
        process.stdout.write(`${JSON.stringify({ dataset: dataset.source, format: dataset.format, ...rest, ...checked, lengthHistogram: stats.lengthHistogram })}\n`);
        return;
      }
      const out: string[] = [
        `dataset               ${dataset.source} (${dataset.format})`,
        `images                ${stats.images}`,
        `captions              ${stats.captions}`,
        `images w/o captions   ${stats.imagesWithoutCaptions}`,
        `missing image files   ${stats.missingImageFiles}`,
        ...(unreadableImages === undefined ? [] : [`unreadable images     ${unreadableImages}`]),
        `distinct words        ${stats.words}`,
        `vocabulary            ${stats.vocabularySize} (words seen ≥ ${opts.minCount} times, plus 4 special tokens)`,
        `caption length        p5 ${stats.length.p5}, median ${stats.length.p50}, p95 ${stats.length.p95}, max ${stats.length.max}, mean ${stats.length.mean.toFixed(1)}`,
        `splits                ${Object.entries(stats.splits).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      ];
      const problems = Object.entries(stats.problems);
      if (problems.length) out.push(`problems              ${problems.map(([k, v]) => `${k} ${v}`).join(', ')}`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
