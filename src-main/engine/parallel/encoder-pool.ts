/**
 * Feature extraction on every core: a `FeatureEncoder` (data/feature-cache.ts) whose `encode` splits each batch of
 * images into one contiguous share per worker thread (encoder-worker.ts: own wasm backend, own encoder) and puts
 * the features back in order. The threads start on the first `encode`, so a run whose features are all cached pays
 * nothing. Each image's features do not depend on which worker computed them beyond floating-point detail.
 */
import { Worker } from 'node:worker_threads';
import type { FeatureEncoder } from '../../data/feature-cache.ts';
import type { EncoderSpec } from '../encoder.ts';
import type { FromEncoderWorker, ToEncoderWorker } from './encoder-worker.ts';
import { evenRange } from './train-protocol.ts';

function encoderWorkerUrl(): URL {
  if (import.meta.url.endsWith('.ts')) return new URL('./encoder-worker-boot.mjs', import.meta.url);
  return new URL('./encoder-worker.js', import.meta.url); // bundled beside the main bundle
}

/** One worker and the replies it owes, in order. */
class EncoderThread {
  private readonly waiting: { resolve: (m: FromEncoderWorker) => void; reject: (e: Error) => void }[] = [];
  /** Replies that came before anyone asked for them (e.g. 'ready' while another thread was awaited). */
  private readonly unclaimed: FromEncoderWorker[] = [];
  private failure: Error | null = null;

  constructor(readonly worker: Worker) {
    worker.on('message', (m: FromEncoderWorker) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(m);
      else this.unclaimed.push(m);
    });
    const fail = (e: Error): void => {
      this.failure ??= e;
      for (const w of this.waiting.splice(0)) w.reject(this.failure);
    };
    worker.on('error', (e) => fail(new Error(`feature worker crashed: ${e.message.split('\n')[0]}`)));
    worker.on('exit', (code) => fail(new Error(`feature worker stopped (exit code ${code})`)));
  }

  next(): Promise<FromEncoderWorker> {
    const early = this.unclaimed.shift();
    if (!early && this.failure) return Promise.reject(this.failure);
    const reply = early ? Promise.resolve(early) : new Promise<FromEncoderWorker>((resolve, reject) => this.waiting.push({ resolve, reject }));
    return reply.then((m) => {
      const msg = m as FromEncoderWorker;
      if (msg.type === 'error') throw new Error(`feature worker: ${msg.message}`);
      return msg;
    });
  }

  send(m: ToEncoderWorker): void {
    this.worker.postMessage(m);
  }
}

export class EncoderPool implements FeatureEncoder {
  private threads: Promise<EncoderThread[]> | null = null;

  /** `id` and `featureDim` are the in-process encoder's (the workers load the same spec and must agree). */
  constructor(
    private readonly spec: EncoderSpec,
    readonly workers: number,
    readonly id: string,
    readonly featureDim: number,
  ) {
    if (!(Number.isInteger(workers) && workers >= 2)) throw new Error(`encoder pool: needs at least 2 workers, got ${workers}`);
  }

  private start(): Promise<EncoderThread[]> {
    this.threads ??= (async () => {
      const threads = Array.from({ length: this.workers }, () => new EncoderThread(new Worker(encoderWorkerUrl(), { workerData: this.spec })));
      try {
        for (const t of threads) {
          const ready = await t.next();
          if (ready.type !== 'ready' || ready.id !== this.id || ready.featureDim !== this.featureDim) {
            throw new Error(`feature worker loaded another encoder (${ready.type === 'ready' ? ready.id : ready.type}) than ${this.id}`);
          }
        }
        return threads;
      } catch (err) {
        await Promise.all(threads.map((t) => t.worker.terminate()));
        throw err;
      }
    })();
    return this.threads;
  }

  async encode(pixels: readonly Uint8Array[]): Promise<{ features: Float32Array[] }> {
    const threads = await this.start();
    const shares = threads.map((t, w) => {
      const { lo, hi } = evenRange(pixels.length, w, threads.length);
      if (hi === lo) return Promise.resolve([] as readonly Float32Array[]);
      const reply = t.next();
      t.send({ type: 'encode', pixels: pixels.slice(lo, hi) });
      return reply.then((m) => {
        if (m.type !== 'encoded' || m.features.length !== hi - lo) throw new Error('feature worker: wrong number of feature vectors');
        return m.features;
      });
    });
    return { features: (await Promise.all(shares)).flat() };
  }

  /** Stops the threads (if they were started). */
  async close(): Promise<void> {
    const threads = this.threads;
    this.threads = null;
    if (threads) await Promise.all((await threads.catch(() => [])).map((t) => t.worker.terminate()));
  }
}
