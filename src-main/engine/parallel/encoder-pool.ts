/**
 * Image work on every core: a `FeatureEncoder` (data/feature-cache.ts) whose `encode` splits each batch of images
 * into one contiguous share per worker thread (encoder-worker.ts: own wasm backend, own encoder) and puts the
 * features (and ImageNet tags, when asked for) back in order; given a caption model, `caption` does the same for
 * encode + beam search (each worker holds a copy of the model). The threads start on the first request, so a run
 * whose features are all cached pays nothing, and (with `idleMs`) stop after that long without one. Each image's
 * results do not depend on which worker computed them beyond floating-point detail.
 */
import { Worker } from 'node:worker_threads';
import type { FeatureEncoder } from '../../data/feature-cache.ts';
import type { CaptionModel } from '../caption-model.ts';
import type { EncodeOptions, EncoderSpec, ImageTag } from '../encoder.ts';
import type { EncoderWorkerInit, FromEncoderWorker, ToEncoderWorker, WorkerCaption, WorkerCaptionOptions } from './encoder-worker.ts';
import { transferableModel } from './model-transfer.ts';
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

export interface EncoderPoolOptions {
  /** Each worker gets a copy of this model (read when the threads start), and `caption` works. */
  readonly captionModel?: CaptionModel;
  /** Stop the threads after this long without a request (the next request starts them again). Default: never. */
  readonly idleMs?: number;
}

export class EncoderPool implements FeatureEncoder {
  private readonly captionModel: CaptionModel | undefined;
  private readonly idleMs: number | undefined;
  /** Requests under way, and the timer that stops idle threads. */
  private busy = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private threads: Promise<EncoderThread[]> | null = null;
  /** Every worker started, ready or not (so `close` need not wait for them to load). */
  private spawned: Worker[] = [];
  /** Counts starts and closes: a start that a close overtook spawns nothing. */
  private generation = 0;

  /** `id` and `featureDim` are the in-process encoder's (the workers load the same spec and must agree). */
  constructor(
    private readonly spec: EncoderSpec,
    readonly workers: number,
    readonly id: string,
    readonly featureDim: number,
    options: EncoderPoolOptions = {},
  ) {
    if (!(Number.isInteger(workers) && workers >= 2)) throw new Error(`encoder pool: needs at least 2 workers, got ${workers}`);
    this.captionModel = options.captionModel;
    this.idleMs = options.idleMs;
  }

  private start(): Promise<EncoderThread[]> {
    if (this.threads) return this.threads;
    const generation = ++this.generation;
    const started = (async () => {
      const init: EncoderWorkerInit = { spec: this.spec, ...(this.captionModel ? { model: await transferableModel(this.captionModel) } : {}) };
      if (generation !== this.generation) throw new Error('encoder pool: closed while starting');
      const threads = Array.from({ length: this.workers }, () => new EncoderThread(new Worker(encoderWorkerUrl(), { workerData: init })));
      this.spawned.push(...threads.map((t) => t.worker));
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
    this.threads = started;
    return started;
  }

  /** Starts the threads now (they otherwise start with the first request); resolves once all are ready. */
  async ready(): Promise<void> {
    await this.whileBusy(() => this.start());
  }

  /** Features (and `topK` tags per image; default none) of each image, in order. */
  async encode(pixels: readonly Uint8Array[], opts: Pick<EncodeOptions, 'topK'> = {}): Promise<{ features: Float32Array[]; tags: ImageTag[][] }> {
    const shares = await this.spread(pixels, (share) => ({ type: 'encode', pixels: share, topK: opts.topK ?? 0 }), (m) =>
      m.type === 'encoded' ? m.features.map((f, k) => ({ features: f, tags: [...(m.tags[k] ?? [])] })) : null,
    );
    return { features: shares.map((s) => s.features), tags: shares.map((s) => s.tags) };
  }

  /** Each image's tags and captions (encode, then decode with the pool's caption model), in order. */
  async caption(pixels: readonly Uint8Array[], opts: WorkerCaptionOptions): Promise<WorkerCaption[]> {
    if (!this.captionModel) throw new Error('encoder pool: started without a caption model, cannot caption');
    return this.spread(pixels, (share) => ({ type: 'caption', pixels: share, ...opts }), (m) => (m.type === 'captioned' ? [...m.captions] : null));
  }

  /** Sends each worker its contiguous share of `pixels` and joins their answers (one per image) in order. */
  private async spread<T>(
    pixels: readonly Uint8Array[],
    request: (share: readonly Uint8Array[]) => ToEncoderWorker,
    answer: (m: FromEncoderWorker) => T[] | null,
  ): Promise<T[]> {
    return this.whileBusy(() => this.spreadOnThreads(pixels, request, answer));
  }

  private async spreadOnThreads<T>(
    pixels: readonly Uint8Array[],
    request: (share: readonly Uint8Array[]) => ToEncoderWorker,
    answer: (m: FromEncoderWorker) => T[] | null,
  ): Promise<T[]> {
    const threads = await this.start();
    const shares = threads.map((t, w) => {
      const { lo, hi } = evenRange(pixels.length, w, threads.length);
      if (hi === lo) return Promise.resolve([] as T[]);
      const reply = t.next();
      t.send(request(pixels.slice(lo, hi)));
      return reply.then((m) => {
        const items = answer(m);
        if (items?.length !== hi - lo) throw new Error(`feature worker: wrong answer (${m.type}, ${items?.length ?? 0} of ${hi - lo} images)`);
        return items;
      });
    });
    return (await Promise.all(shares)).flat();
  }

  /** Runs `work` as a request: no idle stop meanwhile; the idle timer (with `idleMs`) restarts when the last ends. */
  private async whileBusy<T>(work: () => Promise<T>): Promise<T> {
    this.busy++;
    clearTimeout(this.idleTimer);
    try {
      return await work();
    } finally {
      if (--this.busy === 0 && this.idleMs !== undefined) {
        this.idleTimer = setTimeout(() => void this.close(), this.idleMs);
        this.idleTimer.unref();
      }
    }
  }

  /** Stops the threads (if they were started); a later request starts them again. */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    const spawned = this.spawned.splice(0);
    this.threads = null;
    this.generation++;
    await Promise.all(spawned.map((w) => w.terminate()));
  }
}
