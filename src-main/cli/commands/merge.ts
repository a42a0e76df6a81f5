/**
 * `caption-studio merge <outputs…> --out FILE`: joins the outputs of `export … --shard i/n` (all n of them, read
 * through the FILE.shard.json manifests they wrote) into the file one unsharded export would have written, byte
 * for byte.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { checkExportOutput, exportCaptions } from '../../data/export.ts';
import { mergeShards, readShardManifest } from '../../data/shard-manifest.ts';
import { ExitError, note, type GlobalOptions } from '../options.ts';

interface MergeCommandOptions extends GlobalOptions {
  readonly out: string;
}

export function registerMerge(program: Command): void {
  program
    .command('merge')
    .description('join the outputs of `export --shard i/n` (all n shards) into what one unsharded export writes')
    .argument('<outputs...>', 'the shard outputs (each with its .shard.json manifest beside it)')
    .requiredOption('-o, --out <file>', 'the merged file')
    .action(async (outputs: string[], _opts: unknown, cmd: Command) => {
      await runMerge(outputs, cmd.optsWithGlobals<MergeCommandOptions>());
    });
}

async function runMerge(outputs: string[], opts: MergeCommandOptions): Promise<void> {
  const manifests = [];
  for (const output of outputs) manifests.push({ name: output, manifest: await readShardManifest(output) });
  let merged: ReturnType<typeof mergeShards>;
  try {
    merged = mergeShards(manifests);
  } catch (err) {
    throw new ExitError((err as Error).message);
  }
  await checkExportOutput(opts.out, outputs);
  const report = await exportCaptions(merged.rows, { format: merged.format, out: opts.out, bom: merged.bom });
  note(opts, `merged ${outputs.length} shards: ${report.rows} captions to ${path.resolve(opts.out)}`);
}
