/**
 * Pause and cancel for a job running in a worker thread, through a little shared memory rather than messages:
 * a worker busy in a long synchronous tfjs computation never reads its message port, but it does reach a
 * `checkpoint()` between images or mini-batches, which reads these flags — and, while paused, sleeps on them
 * with `Atomics.wait` until the main thread resumes or cancels it.
 */
import { CancelledError } from '../util/progress.ts';

const CANCEL = 0;
const PAUSE = 1;

/** The main thread's handle: flips the flags the worker reads. */
export class JobControl {
  readonly buffer: SharedArrayBuffer;
  private readonly flags: Int32Array;

  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
    this.flags = new Int32Array(this.buffer);
  }

  cancel(): void {
    Atomics.store(this.flags, CANCEL, 1);
    Atomics.notify(this.flags, PAUSE);
  }

  pause(): void {
    Atomics.store(this.flags, PAUSE, 1);
  }

  resume(): void {
    Atomics.store(this.flags, PAUSE, 0);
    Atomics.notify(this.flags, PAUSE);
  }

  get cancelled(): boolean {
    return Atomics.load(this.flags, CANCEL) === 1;
  }

  get paused(): boolean {
    return Atomics.load(this.flags, PAUSE) === 1;
  }
}

/** The worker's side: an AbortSignal for the engine, and a checkpoint that honours pause and cancel. */
export class JobGate {
  private readonly flags: Int32Array;
  private readonly controller = new AbortController();

  /** `onPause(true)` is called when the worker goes to sleep at a checkpoint, `onPause(false)` when it wakes. */
  constructor(buffer: SharedArrayBuffer, private readonly onPause: (paused: boolean) => void = () => {}) {
    this.flags = new Int32Array(buffer);
  }

  /** Fires once the job is cancelled (at the next checkpoint, or at once if it is cancelled while paused). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /**
   * Call at a safe point. Blocks this thread while paused; returns false (and aborts `signal`) once the job is
   * cancelled, true when work may go on.
   */
  poll(): boolean {
    if (Atomics.load(this.flags, PAUSE) === 1 && Atomics.load(this.flags, CANCEL) === 0) {
      this.onPause(true);
      while (Atomics.load(this.flags, PAUSE) === 1 && Atomics.load(this.flags, CANCEL) === 0) {
        Atomics.wait(this.flags, PAUSE, 1, 1000);
      }
      this.onPause(false);
    }
    if (Atomics.load(this.flags, CANCEL) === 1) {
      if (!this.controller.signal.aborted) this.controller.abort(new CancelledError());
      return false;
    }
    return true;
  }

  /** Like `poll`, but throws CancelledError once the job is cancelled. */
  checkpoint(): void {
    if (!this.poll()) throw new CancelledError();
  }
}
