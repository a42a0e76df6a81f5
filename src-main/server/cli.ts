/**
 * `npm run serve`: the browser mode. Prints the URL to open (it carries the access token, like Jupyter's).
 *   --port <n>       listen on this port (default: a free one)
 *   --data-dir <d>   keep settings, models and caches here instead of the user's data folder
 */
import { Command, InvalidArgumentError } from 'commander';
import { runBrowserMode } from './browser-mode.ts';

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('must be an integer from 0 to 65535');
  return n;
}

const program = new Command('caption-studio-serve')
  .description('Serve Caption Studio to a browser on 127.0.0.1 (use an SSH tunnel to reach it from another machine)')
  .option('-p, --port <n>', 'port to listen on (default: a free one)', parsePort)
  .option('--data-dir <dir>', 'folder for settings, models and caches')
  .parse();

const opts = program.opts<{ port?: number; dataDir?: string }>();
try {
  const { server, services } = await runBrowserMode({
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
  });
  if (services.settings.warning) console.warn(services.settings.warning);
  console.log(`Caption Studio is running at ${server.url}`);
  console.log('Open that URL in a browser (it carries this run\'s access token). Press Ctrl+C to stop.');
} catch (err) {
  console.error(`caption-studio serve: ${(err as Error).message.split('\n')[0]}`);
  process.exit(1);
}
