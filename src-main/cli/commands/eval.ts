/**
 * `caption-studio eval <model> <dataset>`: BLEU-1..4, ROUGE-L and CIDEr-D of the model's captions on a split
 * (the held-out test split by default, reproduced from the model's recorded seed), optionally beside the
 * nearest-neighbour baseline, with each image's caption and references written to a file on request.
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import { DATASET_FORMATS, type DatasetFormat } from '../../data/dataset-types.ts';
import { checkExportOutput, exportCaptions } from '../../data/export.ts';
import { modelLabel } from '../../engine/caption-model.ts';
import type { CaptionScores } from '../../engine/metrics/evaluate.ts';
import { CAPTION_METRICS } from '../../engine/metrics/metric-names.ts';
import { evaluateOnDataset } from '../../pipeline/evaluate-dataset.ts';
import { featureNotes, LoadedModel } from '../loaded-model.ts';
import { ProgressBar } from '../progress-bar.ts';
import { ExitError, nonNegativeInt, positiveInt, type GlobalOptions } from '../options.ts';

interface EvalCommandOptions extends GlobalOptions {
  readonly split: 'train' | 'val' | 'test' | 'all';
  readonly format: DatasetFormat | 'auto';
  readonly images?: string;
  readonly json?: boolean;
  readonly predictions?: string;
  readonly beam: number;
  readonly blockNgram: number;
  readonly finishSentences: boolean;
  readonly baseline?: boolean;
  readonly cache?: string;
  readonly keepDuplicates?: boolean;
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('score a model on a dataset split: BLEU-1..4, ROUGE-L, CIDEr-D')
    .argument('<model>', 'model bundle folder')
    .argument('<dataset>', 'dataset file or folder')
    .addOption(new Option('--split <split>', 'which images to caption').choices(['test', 'val', 'train', 'all']).default('test'))
    .addOption(new Option('--format <format>', 'dataset format').choices(['auto', ...DATASET_FORMATS]).default('auto'))
    .option('--images <dir>', 'where the images are, when not beside the annotation file')
    .option('-b, --beam <n>', 'beam width', positiveInt, 3)
    .option('--block-ngram <n>', 'forbid repeating any n-gram of this size (0 = off)', nonNegativeInt, 2)
    .option('--no-finish-sentences', 'let captions end on an article, preposition or conjunction (as decoding did before)')
    .option('--baseline', 'also score the nearest-neighbour baseline (caption of the closest training image)')
    .option('--keep-duplicates', 'keep repeated reference captions (as published UCM-Captions figures do)')
    .option('--predictions <file>', 'write each image caption beside its references (.csv or .jsonl)')
    .option('--cache <dir>', 'feature cache folder')
    .option('--json', 'print the result as one JSON object')
    .action(async (modelDir: string, dataset: string, _opts: unknown, cmd: Command) => {
      await runEval(modelDir, dataset, cmd.optsWithGlobals<EvalCommandOptions>());
    });
}

/** The --predictions file's format, by its extension. */
const PREDICTION_FORMATS: Readonly<Record<string, 'csv' | 'jsonl'>> = { '.csv': 'csv', '.jsonl': 'jsonl' };

async function runEval(modelDir: string, datasetPath: string, opts: EvalCommandOptions): Promise<void> {
  if (opts.baseline && (opts.split === 'all' || opts.split === 'train')) {
    throw new ExitError(`--baseline looks captions up in the train split, so it needs --split test or val (not ${opts.split})`);
  }
  const predictionsFormat = opts.predictions ? PREDICTION_FORMATS[path.extname(opts.predictions).toLowerCase()] : undefined;
  if (opts.predictions && !predictionsFormat) throw new ExitError(`--predictions ${opts.predictions}: name a .csv or .jsonl file (the extension picks the format)`);
  const bar = new ProgressBar(process.stderr, opts.quiet);
  const loaded = new LoadedModel(opts, modelDir);
  try {
    const { dataset, model, evaluation, baseline, skipped } = await evaluateOnDataset(
      {
        modelDir,
        dataset: { path: datasetPath, format: opts.format, ...(opts.images ? { imagesDir: opts.images } : {}), ...(opts.keepDuplicates ? { keepDuplicateCaptions: true } : {}) },
        split: opts.split,
        beamSize: opts.beam,
        blockRepeatedNgram: opts.blockNgram,
        finishSentences: opts.finishSentences,
        ...(opts.baseline ? { baseline: true } : {}),
        ...(opts.cache ? { cacheDir: opts.cache } : {}),
        load: loaded.load,
      },
      {
        onDataset: async (d) => {
          if (opts.predictions) await checkExportOutput(opts.predictions, [datasetPath, d.source]);
        },
        onProgress: bar.listener,
        ...featureNotes(opts, bar, Infinity, true),
      },
    );
    bar.stop();
    if (opts.predictions) {
      await exportCaptions(
        evaluation.predictions.map((p) => ({ path: p.path, caption: p.caption, score: p.score === undefined ? null : round4(p.score), model: modelLabel(model), references: p.references })),
        { format: predictionsFormat!, out: opts.predictions },
      );
    }
    const report = {
      model: path.resolve(modelDir),
      dataset: dataset.source,
      split: opts.split,
      images: evaluation.images,
      skipped,
      metrics: rounded(evaluation.metrics),
      ...(baseline ? { nearestNeighbour: rounded(baseline.metrics) } : {}),
    };
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      process.stdout.write(`${report.images} images (${opts.split} split of ${dataset.source})\n`);
      process.stdout.write(formatTable(evaluation.metrics, baseline?.metrics));
    }
  } finally {
    bar.stop();
    loaded.dispose();
  }
}

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

function rounded(scores: CaptionScores): CaptionScores {
  const r = round4;
  return { bleu1: r(scores.bleu1), bleu2: r(scores.bleu2), bleu3: r(scores.bleu3), bleu4: r(scores.bleu4), rougeL: r(scores.rougeL), ciderD: r(scores.ciderD) };
}

function formatTable(model: CaptionScores, baseline?: CaptionScores): string {
  const lines = [`${'metric'.padEnd(8)}  ${'model'.padStart(7)}${baseline ? `  ${'nearest neighbour'.padStart(17)}` : ''}`];
  for (const [key, label] of CAPTION_METRICS) {
    lines.push(`${label.padEnd(8)}  ${model[key].toFixed(4).padStart(7)}${baseline ? `  ${baseline[key].toFixed(4).padStart(17)}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}
