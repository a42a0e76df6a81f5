import cliProgress from 'cli-progress';
import type { ProgressEvent, ProgressListener } from '../util/progress.ts';

/** Formats seconds as `1h02m`, `3m05s` or `42s`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

function formatValue(name: string, value: number): string {
  if (name === 'tokensPerSec' || name === 'tokens/s') return `${Math.round(value)} tok/s`;
  if (name === 'epsilon') return `ε ${value.toFixed(3)}`;
  if (Number.isInteger(value)) return `${name} ${value}`;
  return `${name} ${value.toPrecision(4)}`;
}

/** Tasks whose units are images, shown as a rate beside the bar (training shows its tokens/s instead). */
const IMAGE_TASKS = new Set(['extract', 'caption', 'export', 'check']);

/** `12 img/s`, `1.5 img/s`; empty when the rate is not known yet. */
export function formatRate(event: ProgressEvent): string {
  const rate = event.rate;
  if (!IMAGE_TASKS.has(event.task) || rate === undefined || !Number.isFinite(rate) || rate <= 0) return '';
  return `${rate >= 10 ? Math.round(rate) : rate.toFixed(1)} img/s`;
}

/**
 * Renders the shared ProgressEvent stream as a terminal progress bar on stderr (so stdout stays clean for
 * `--json`). When stderr is not a TTY it prints at most one plain line every few seconds instead.
 */
export class ProgressBar {
  private bar: cliProgress.SingleBar | undefined;
  private lastTask = '';
  private lastPlain = 0;
  private lastLine = '';

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, private readonly quiet = false) {}

  readonly listener: ProgressListener = (event) => this.update(event);

  update(event: ProgressEvent): void {
    if (this.quiet) return;
    const detail = [
      event.phase ?? '',
      ...Object.entries(event.values ?? {}).map(([k, v]) => formatValue(k, v)),
      formatRate(event),
      event.etaSeconds !== undefined && Number.isFinite(event.etaSeconds) && event.done < event.total ? `ETA ${formatDuration(event.etaSeconds)}` : '',
    ]
      .filter(Boolean)
      .join(' · ');
    if (!this.stream.isTTY) {
      const now = Date.now();
      const line = `${event.task} ${event.done}/${event.total || '?'} ${detail}`.trimEnd();
      if ((now - this.lastPlain >= 5000 || event.done === event.total) && line !== this.lastLine) {
        this.lastPlain = now;
        this.lastLine = line;
        this.stream.write(`${line}\n`);
      }
      return;
    }
    if (!this.bar || event.task !== this.lastTask) {
      this.stop();
      this.lastTask = event.task;
      this.bar = new cliProgress.SingleBar(
        { format: `${event.task.padEnd(8)} [{bar}] {value}/{total} {detail}`, stream: this.stream, hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(Math.max(event.total, 1), event.done, { detail });
    }
    this.bar.setTotal(Math.max(event.total, 1));
    this.bar.update(event.done, { detail });
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
