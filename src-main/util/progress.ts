/**
 * The one progress event every long operation emits (feature extraction, training, batch captioning, export),
 * so the CLI progress bar, the Electron UI and the browser UI render the same stream.
 */
export interface ProgressEvent {
  /** Which operation: 'extract', 'train', 'caption', 'export', … */
  readonly task: string;
  /** A finer phase within the task, e.g. 'epoch 3/10' or 'validate'. */
  readonly phase?: string;
  /** Units done so far and in total (images, batches…); total 0 when unknown. */
  readonly done: number;
  readonly total: number;
  /** Units per second, measured over the recent past. */
  readonly rate?: number;
  /** Seconds left at the current rate. */
  readonly etaSeconds?: number;
  /** Free-form numbers to show beside the bar (loss, epsilon, tokens/s…). */
  readonly values?: Readonly<Record<string, number>>;
  readonly message?: string;
}

export type ProgressListener = (event: ProgressEvent) => void;

/** Raised by a long operation that stopped because its AbortSignal fired. */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'CancelledError';
  }
}

/** Measures a rate over a sliding window and turns it into an ETA. */
export class RateMeter {
  private readonly samples: { t: number; done: number }[] = [];

  constructor(private readonly windowMs = 10_000, private readonly now: () => number = () => performance.now()) {}

  update(done: number): { rate: number; eta: (total: number) => number } {
    const t = this.now();
    this.samples.push({ t, done });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (t - first.t) / 1000;
    const rate = dt > 0 ? (done - first.done) / dt : 0;
    return { rate, eta: (total: number) => (rate > 0 ? Math.max(0, (total - done) / rate) : Number.POSITIVE_INFINITY) };
  }
}
