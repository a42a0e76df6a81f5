/**
 * The `caption-studio` command line: caption, train, eval, compare, export, stats, convert, info, merge, units. Errors end the command with one
 * line on stderr (the stack trace only with --verbose) and a non-zero exit status.
 */
import { Command, CommanderError } from 'commander';
import { registerCaption } from './commands/caption.ts';
import { registerCompare } from './commands/compare.ts';
import { registerConvert } from './commands/convert.ts';
import { registerEval } from './commands/eval.ts';
import { registerExport } from './commands/export.ts';
import { registerInfo } from './commands/info.ts';
import { registerMerge } from './commands/merge.ts';
import { registerStats } from './commands/stats.ts';
import { registerTrain } from './commands/train.ts';
import { registerUnits } from './commands/units.ts';
import { ExitError } from './options.ts';

const program = new Command()
  .name('caption-studio')
  .description('Caption images with a MobileNet + LSTM model you can train yourself.')
  .option('--backend <name>', 'tfjs backend: auto, tensorflow-gpu, tensorflow, wasm or cpu (env CAPTION_STUDIO_BACKEND)')
  .option('-v, --verbose', 'say which backend runs; print stack traces on errors')
  .option('-q, --quiet', 'no progress output')
  .showHelpAfterError('(add --help for usage)')
  .exitOverride();

registerCaption(program);
registerTrain(program);
registerEval(program);
registerCompare(program);
registerExport(program);
registerStats(program);
registerConvert(program);
registerInfo(program);
registerMerge(program);
registerUnits(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander has already printed its message (usage errors, --help, --version).
    process.exitCode = err.exitCode;
  } else {
    const verbose = process.argv.includes('--verbose') || process.argv.includes('-v');
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`caption-studio: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = err instanceof ExitError ? err.exitCode : 1;
  }
}
