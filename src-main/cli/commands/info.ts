/**
 * `caption-studio info <model>`: what a model bundle holds, without loading its weights.
 * `caption-studio info --backends`: every tfjs backend, usable or not here, and why.
 */
import type { Command } from 'commander';
import { readBundleInfo } from '../../engine/bundle.ts';
import { describeModelSplit, missingTestSplit, modelSplit } from '../../pipeline/model-split.ts';
import { probeBackends } from '../../engine/backend-probe.ts';
import { ExitError, type GlobalOptions } from '../options.ts';

interface InfoCommandOptions extends GlobalOptions {
  readonly json?: boolean;
  readonly backends?: boolean;
}

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('show a model bundle: config, vocabulary, encoder, training and metrics; or, with --backends, the backends')
    .argument('[model]', 'model bundle folder')
    .option('--json', 'print one JSON object (with --backends: one per backend)')
    .option('--backends', 'list every backend: usable (yes / only by name / no) and why')
    .action(async (dir: string | undefined, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<InfoCommandOptions>();
      if (opts.backends) {
        await printBackends(opts.json ?? false);
        if (dir === undefined) return;
      }
      if (dir === undefined) throw new ExitError('info: name a model folder, or pass --backends');
      const info = await readBundleInfo(dir);
      const { training, ...meta } = info.metadata;
      const summary = {
        name: info.name ?? null,
        encoderId: info.encoderId,
        decoder: info.config,
        vocabularySize: info.vocabularySize,
        weights: info.weightStorage,
        ...meta,
        heldOut: heldOut(info.metadata),
        ...(training ? { epochs: training.history.length, best: training.best, stoppedBy: training.stoppedBy, config: training.config } : {}),
      };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      const c = info.config;
      const lines = [
        `name        ${info.name ?? '(unnamed)'}`,
        `created     ${info.metadata.createdAt}`,
        `encoder     ${info.encoderId}`,
        `decoder     E ${c.embedDim}, H ${c.hiddenDim}, V ${c.vocabSize}, F ${c.featureDim}, injection ${c.injection}, dropout ${c.dropout}`,
        `weights     ${info.weightStorage}`,
      ];
      if (training) {
        lines.push(`training    ${training.history.length} epochs (${training.stoppedBy})${training.best ? `, best epoch ${training.best.epoch} by ${training.best.metric} ${training.best.value.toFixed(4)}` : ''}`);
      }
      lines.push(`split       ${describeModelSplit(info.metadata)}`);
      if (info.metadata.metrics) lines.push(`metrics     ${Object.entries(info.metadata.metrics).map(([k, v]) => `${k} ${Number(v.toFixed(4))}`).join(', ')}`);
      const command = info.metadata.provenance?.command;
      if (typeof command === 'string') lines.push(`command     ${command}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/** What `eval` can hold out for this model: its recorded split, or why there is no test split. */
function heldOut(metadata: Parameters<typeof modelSplit>[0]): { split: ReturnType<typeof modelSplit>; testSplit: boolean; reason?: string } {
  const reason = missingTestSplit(metadata);
  return { split: modelSplit(metadata), testSplit: reason === null, ...(reason ? { reason } : {}) };
}

const USABLE = { yes: 'usable', 'by-name': 'by name only', no: 'not usable' } as const;

async function printBackends(json: boolean): Promise<void> {
  for (const b of await probeBackends()) {
    process.stdout.write(json ? `${JSON.stringify(b)}\n` : `${b.backend.padEnd(15)} ${USABLE[b.usable].padEnd(13)} ${b.reason}\n`);
  }
}
