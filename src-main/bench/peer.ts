/**
 * `npm run bench:peer`: our training step against the PyTorch peer (../shared/bench/torch_peer.py, the same LSTM
 * step at the same sizes), measured one right after the other in this session: our 1-worker and N-worker lines
 * (parallel-train-bench.ts), the peer's train_step line, and a line with our best figure, the peer's and the
 * ratio. Without python3-torch (Debian: apt-get install -y python3-torch) or without the script it prints one
 * `skipped` line and exits 0. JSON lines on stdout, progress on stderr.
 *
 *   npm run bench:peer [-- --shared ../shared] [--threads 2] [--workers N] [--steps 5]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runParallelTrainBench, type WorkersLine } from './parallel-train-bench.ts';
import { DEFAULT_SHARED } from './run.ts';
import { round } from './stats.ts';
import { argValue } from './train-bench.ts';

/** The peer's train_step line (torch_peer.py's figures; tokens counted as B·T). */
interface PeerTrainStep {
  readonly task: 'train_step';
  readonly tok_per_s_med: number;
  readonly tok_per_s_best: number;
  readonly ms_med: number;
}

/** A python3 that imports torch (Debian's /usr/bin/python3 first), or the reason there is none. */
export function findTorchPython(candidates: readonly string[] = ['/usr/bin/python3', 'python3']): { python: string } | { skipped: string } {
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return { python };
  }
  return { skipped: 'python3-torch is not installed (Debian: apt-get install -y python3-torch); no peer figures' };
}

export async function runPeerBench(opts: { shared: string; threads: number; workers?: number; repeats?: number }): Promise<object[]> {
  const script = path.join(opts.shared, 'bench', 'torch_peer.py');
  if (!existsSync(script)) return [{ bench: 'peer', skipped: `${script} not found` }];
  const found = findTorchPython();
  if ('skipped' in found) return [{ bench: 'peer', skipped: found.skipped }];
  const lines: object[] = [];
  const ours = await runParallelTrainBench({
    ...(opts.workers ? { workers: opts.workers } : {}),
    ...(opts.repeats ? { repeats: opts.repeats } : {}),
  });
  lines.push(...ours);
  const peerRun = spawnSync(found.python, [script, String(opts.threads), String(opts.repeats ?? 5)], {
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE', PEER_EPS: '0.75' },
    maxBuffer: 16 * 1024 * 1024,
  });
  if (peerRun.status !== 0) return [...lines, { bench: 'peer', error: `${script} exited ${peerRun.status}: ${(peerRun.stderr ?? '').trim().split('\n').at(-1)}` }];
  const peerLines = peerRun.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { task?: string });
  for (const l of peerLines) lines.push({ bench: 'peer_torch', ...l });
  const step = peerLines.find((l): l is PeerTrainStep => l.task === 'train_step');
  const best = ours.filter((l): l is WorkersLine => l.bench === 'train_workers').sort((a, b) => b.tokens_per_s - a.tokens_per_s)[0];
  if (step && best) {
    lines.push({
      bench: 'peer_ratio',
      ours_tokens_per_s: best.tokens_per_s,
      ours_workers: best.workers,
      peer_tokens_per_s: step.tok_per_s_med,
      peer_threads: opts.threads,
      ratio: round(best.tokens_per_s / step.tok_per_s_med, 2),
      cores: availableParallelism(),
    });
  }
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log = console.error;
  const i = process.argv.indexOf('--shared');
  const shared = path.resolve(i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : DEFAULT_SHARED);
  const workers = argValue('--workers');
  const repeats = argValue('--steps');
  const lines = await runPeerBench({ shared, threads: argValue('--threads') ?? availableParallelism(), ...(workers ? { workers } : {}), ...(repeats ? { repeats } : {}) });
  for (const l of lines) process.stdout.write(`${JSON.stringify(l)}\n`);
  process.stdout.write('', () => process.exit(lines.some((l) => 'error' in l) ? 1 : 0));
}
