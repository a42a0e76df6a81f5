/**
 * `caption-studio units <model> <dataset>`: each hidden unit's top words — the words at which it is most active
 * while the model writes the dataset's captions (teacher-forced). Saved beside the model as unit-words.json, where
 * the app's explain panel finds them.
 */
import { Option, type Command } from 'commander';
import { DATASET_FORMATS, type DatasetFormat } from '../../data/dataset-types.ts';
import { computeUnitMeanings } from '../../pipeline/unit-meanings.ts';
import { featureNotes, LoadedModel } from '../loaded-model.ts';
import { ProgressBar } from '../progress-bar.ts';
import { note, positiveInt, type GlobalOptions } from '../options.ts';

interface UnitsCommandOptions extends GlobalOptions {
  readonly format: DatasetFormat | 'auto';
  readonly images?: string;
  readonly top: number;
  readonly minCount: number;
  readonly json?: boolean;
  readonly save: boolean;
  readonly cache?: string;
}

export function registerUnits(program: Command): void {
  program
    .command('units')
    .description("each hidden unit's top words: where it is most active over a dataset's captions (teacher-forced)")
    .argument('<model>', 'model bundle folder')
    .argument('<dataset>', 'dataset file or folder')
    .addOption(new Option('--format <format>', 'dataset format').choices(['auto', ...DATASET_FORMATS]).default('auto'))
    .option('--images <dir>', 'where the images are, when not beside the annotation file')
    .option('--top <n>', 'words per unit', positiveInt, 10)
    .option('--min-count <n>', 'leave out words written fewer times than this', positiveInt, 3)
    .option('--no-save', 'do not save unit-words.json in the model folder')
    .option('--cache <dir>', 'feature cache folder')
    .option('--json', 'print one JSON object')
    .action(async (modelDir: string, dataset: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<UnitsCommandOptions>();
      const bar = new ProgressBar(process.stderr, opts.quiet);
      const loaded = new LoadedModel(opts, modelDir);
      try {
        const { meanings, savedTo } = await computeUnitMeanings({
          modelDir,
          dataset: { path: dataset, format: opts.format, ...(opts.images ? { imagesDir: opts.images } : {}) },
          top: opts.top,
          minCount: opts.minCount,
          save: opts.save,
          ...(opts.cache ? { cacheDir: opts.cache } : {}),
          load: loaded.load,
          onProgress: bar.listener,
          ...featureNotes(opts, bar, 20),
        });
        bar.stop();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(meanings)}\n`);
        } else {
          const width = String(meanings.units.length - 1).length;
          for (const u of meanings.units) {
            process.stdout.write(`unit ${String(u.unit).padStart(width)}  ${u.words.map((w) => `${w.word} ${w.activation.toFixed(2)}`).join(', ')}\n`);
          }
        }
        if (savedTo) note(opts, `${meanings.captions} captions; saved to ${savedTo}`);
      } finally {
        bar.stop();
        loaded.dispose();
      }
    });
}
