/** `caption-studio caption <files|dirs…>`: captions with scores, as text or one JSON object per line. */
import type { Command } from 'commander';
import { expandImagePaths } from '../../data/image-paths.ts';
import { loadBundle } from '../../engine/bundle.ts';
import { disposeCaptionModel } from '../../engine/caption-model.ts';
import { loadEncoder } from '../../engine/encoder.ts';
import { encoderSpecFor } from '../../engine/encoder-registry.ts';
import { captionImages } from '../../pipeline/caption-images.ts';
import { ExplainWriter } from './caption-explain.ts';
import type { ShardSpec } from '../../util/shard.ts';
import { ProgressBar } from '../progress-bar.ts';
import { SHARD_HELP, shardArg, shareOf } from '../shard-option.ts';
import { captionWorkersOption, ExitError, modelDirOf, nonNegativeInt, positiveInt, startBackend, type GlobalOptions } from '../options.ts';

interface CaptionCommandOptions extends GlobalOptions {
  readonly model?: string;
  readonly beam: number;
  readonly top: number;
  readonly json?: boolean;
  readonly maxLength?: number;
  readonly blockNgram: number;
  readonly tags: number;
  readonly shard?: ShardSpec;
  readonly explain?: string;
  readonly workers: number;
}

export function registerCaption(program: Command): void {
  program
    .command('caption')
    .description('caption images (files or folders, searched recursively)')
    .argument('<inputs...>', 'image files or folders')
    .option('-m, --model <dir>', 'model bundle folder (default: the bundled model)')
    .option('-b, --beam <n>', 'beam width', positiveInt, 3)
    .option('-n, --top <n>', 'captions per image: the best plus alternatives', positiveInt, 3)
    .option('--max-length <n>', 'most words per caption', positiveInt)
    .option('--block-ngram <n>', 'forbid repeating any n-gram of this size (0 = off)', nonNegativeInt, 2)
    .option('--tags <n>', 'ImageNet tags per image', nonNegativeInt, 5)
    .option('--shard <i/n>', SHARD_HELP, shardArg)
    .addOption(captionWorkersOption())
    .option('--explain <dir>', 'also write, per image, <name>.explain.json and a heat-map overlay <name>.<k>-<word>.png per word into this folder')
    .option('--json', 'one JSON object per line: {path, caption, score, alternatives, tags} or {path, error}')
    .action(async (inputs: string[], _opts: unknown, cmd: Command) => {
      await runCaption(inputs, cmd.optsWithGlobals<CaptionCommandOptions>());
    });
}

async function runCaption(inputs: string[], opts: CaptionCommandOptions): Promise<void> {
  const found = await expandImagePaths(inputs, { onUnreadable: (_dir, message) => process.stderr.write(`${message}\n`) });
  if (found.length === 0) throw new ExitError(`no image files found in ${inputs.join(', ')}`);
  const paths = shareOf(found, (p) => p, inputs, opts.shard).share.map((s) => s.item);
  if (paths.length === 0) return; // an empty share of a sharded run
  const modelDir = modelDirOf(opts.model);
  await startBackend(opts);
  const model = await loadBundle(modelDir);
  const encoder = await loadEncoder(encoderSpecFor(model.encoderId));
  const bar = new ProgressBar(process.stderr, opts.quiet || paths.length < 2);
  let ok = 0;
  try {
    const explain = opts.explain ? await ExplainWriter.open(opts.explain, modelDir, model, encoder) : null;
    const results = captionImages(paths, {
      model,
      encoder,
      tags: opts.tags,
      workers: opts.workers,
      caption: {
        beamSize: Math.max(opts.beam, opts.top),
        topN: opts.top,
        blockRepeatedNgram: opts.blockNgram,
        ...(opts.maxLength ? { maxLength: opts.maxLength } : {}),
      },
      onProgress: bar.listener,
      onWarning: (message) => {
        bar.stop();
        process.stderr.write(`${message}\n`);
      },
    });
    for await (const r of results) {
      if (r.ok) ok++;
      if (r.ok && explain) await explain.write(r.path, r.words);
      if (opts.json) {
        const line = r.ok
          ? {
              path: r.path,
              caption: r.caption,
              score: round(r.score),
              alternatives: r.alternatives.map((a) => ({ caption: a.caption, score: round(a.score) })),
              tags: r.tags.map((t) => ({ label: t.label, score: round(t.score) })),
            }
          : { path: r.path, error: r.error };
        process.stdout.write(`${JSON.stringify(line)}\n`);
      } else if (r.ok) {
        process.stdout.write(`${r.path}\n  ${r.caption}  (${r.score.toFixed(3)})\n`);
        for (const a of r.alternatives) process.stdout.write(`    ${a.caption}  (${a.score.toFixed(3)})\n`);
        if (r.tags.length) process.stdout.write(`  tags: ${r.tags.map((t) => `${t.label} ${t.score.toFixed(2)}`).join(', ')}\n`);
      } else {
        process.stderr.write(`${r.path}: ${r.error}\n`);
      }
    }
  } finally {
    bar.stop();
    encoder.dispose();
    disposeCaptionModel(model);
  }
  if (ok === 0) throw new ExitError(`none of the ${paths.length} files could be captioned`);
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
