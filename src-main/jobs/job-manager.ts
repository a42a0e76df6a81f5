/**
 * Runs long jobs off the main thread and keeps their state. Caption and export jobs share one inference worker
 * (models stay loaded between requests; jobs queue) that is stopped once it has been idle for `inferenceIdleMs`:
 * its WebAssembly memory, grown to the largest batch it encoded, can only be given back to the system that way
 * (500 captioned images kept ~100 MB after the last one). Each training run gets a worker of its own (one run at a
 * time), so captioning stays possible while a model trains. Every change is reported as a JobEvent.
 */
import { randomUUID } from 'node:crypto';
import type { BackendChoice, BackendStatus, CaptionExplanationView, EpochReport, JobEvent, JobResult, JobState, JobSummary, ProgressEvent, StudyPoint } from '../contract/types.ts';
import { conflict, notFound } from '../contract/errors.ts';
import { JobControl } from './control.ts';
import type { RequestOf } from '../contract/schemas.ts';
import type { ExplainParams, JobMessage, JobSpec, JobUpdate } from './job-types.ts';
import { WorkerHost } from './worker-host.ts';

interface JobRecord {
  readonly id: string;
  readonly spec: JobSpec;
  readonly title: string;
  readonly control: JobControl;
  readonly host: WorkerHost;
  readonly startedAt: number;
  state: JobState;
  finishedAt: number | null;
  progress: ProgressEvent | null;
  error: string | null;
  result: JobResult | null;
  epochs: EpochReport[];
  lossCurve: { batch: number; loss: number; epsilon: number }[];
  study: StudyPoint[];
  readonly request: RequestOf<'train.start'> | undefined;
  readonly waiters: ((summary: JobSummary) => void)[];
  /** Stopped because the manager is closing (the app or server stops), not by the user. */
  interrupted: boolean;
}

/** Loss points kept per training run; beyond this every other one is dropped. */
const MAX_CURVE_POINTS = 600;
const FINAL: readonly JobState[] = ['done', 'failed', 'cancelled', 'interrupted'];

/** How long `close` waits for a training run to write the checkpoint of where it stopped. */
export const CHECKPOINT_GRACE_MS = 60_000;
/** The inference worker is stopped after this long without a job (the next job starts a fresh one). */
export const INFERENCE_IDLE_MS = 30_000;

export class JobManager {
  private readonly jobs = new Map<string, JobRecord>();
  /** Finished jobs of an earlier session (interrupted training runs found on disk): listed, never run here. */
  private readonly restored = new Map<string, JobSummary>();
  private readonly listeners = new Set<(event: JobEvent) => void>();
  private inference: WorkerHost | null = null;
  private inferenceBackend: BackendChoice;
  private status: BackendStatus;
  /** Results that finished jobs hand on (e.g. 'train' → refresh the model list). */
  onFinished: ((summary: JobSummary) => void | Promise<void>) | null = null;

  private idleTimer: NodeJS.Timeout | undefined;

  constructor(
    backend: BackendChoice,
    private readonly inferenceIdleMs = INFERENCE_IDLE_MS,
  ) {
    this.inferenceBackend = backend;
    this.status = { requested: backend, active: null, description: null, error: null };
  }

  /** Subscribes to every job event; returns the unsubscribe function. */
  subscribe(listener: (event: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** What the inference worker runs on (active is null until it has started). */
  backend(): BackendStatus {
    return this.status;
  }

  /** Starts the inference worker now (so the backend is known before the first job). */
  warmUp(): void {
    this.inferenceHost();
  }

  /** Switches the backend: the inference worker restarts now when idle, else once its queue is empty. */
  async setBackend(backend: BackendChoice): Promise<void> {
    if (backend === this.inferenceBackend) return;
    this.inferenceBackend = backend;
    this.status = { requested: backend, active: null, description: null, error: null };
    this.emit({ type: 'backend', backend: this.status });
    if (this.inference && !this.inference.busy) {
      const old = this.inference;
      this.inference = null;
      await old.terminate();
      this.warmUp();
    }
  }

  /** Starts a job; `request` (train jobs) is kept in its summary so that any window can resume the run. */
  start(spec: JobSpec, title: string, request?: RequestOf<'train.start'>): JobSummary {
    // A schedule study trains too: one training job (a run or a study) at a time, each in a worker of its own.
    const trains = (kind: JobSpec['kind']): boolean => kind === 'train' || kind === 'compare';
    if (trains(spec.kind)) {
      const running = [...this.jobs.values()].find((j) => trains(j.spec.kind) && !FINAL.includes(j.state));
      if (running) throw conflict(`a training run is already in progress ("${running.title}"): cancel it first`);
    }
    const id = randomUUID();
    if (!trains(spec.kind)) clearTimeout(this.idleTimer);
    const host = trains(spec.kind) ? this.trainHost() : this.inferenceHost();
    const record: JobRecord = {
      id,
      spec,
      title,
      control: new JobControl(),
      host,
      startedAt: Date.now(),
      state: host.busy ? 'queued' : 'running',
      finishedAt: null,
      progress: null,
      error: null,
      result: null,
      epochs: [],
      lossCurve: [],
      study: [],
      request,
      waiters: [],
      interrupted: false,
    };
    this.jobs.set(id, record);
    host.run(id, spec, record.control.buffer);
    this.changed(record);
    return this.summary(record);
  }

  /** Explains a caption on the inference worker (queued behind its jobs; models stay loaded). */
  explain(params: ExplainParams): Promise<CaptionExplanationView> {
    return this.inferenceHost().explain(params);
  }

  list(): JobSummary[] {
    return [...[...this.jobs.values()].map((r) => this.summary(r)), ...this.restored.values()].sort((a, b) => b.startedAt - a.startedAt);
  }

  get(id: string): JobSummary | null {
    const record = this.jobs.get(id);
    return record ? this.summary(record) : (this.restored.get(id) ?? null);
  }

  /** Lists a finished job of an earlier session (its loss curve thinned like a live one's). */
  restore(job: JobSummary): void {
    let curve = [...job.lossCurve];
    while (curve.length > MAX_CURVE_POINTS) curve = curve.filter((_, i) => i % 2 === 0);
    this.restored.set(job.id, { ...job, lossCurve: curve });
  }

  /** Asks a job to stop at its next safe point; the state turns 'cancelled' when it has. */
  cancel(id: string): JobSummary {
    return this.control(id, (c) => c.cancel());
  }

  /** Asks a job to pause at its next safe point; the state turns 'paused' when it has. */
  pause(id: string): JobSummary {
    return this.control(id, (c) => c.pause());
  }

  resume(id: string): JobSummary {
    return this.control(id, (c) => c.resume());
  }

  /** Applies `act` to a job that has not finished; a finished or restored one is left as it is. */
  private control(id: string, act: (control: JobControl) => void): JobSummary {
    const restored = this.restored.get(id);
    if (restored) return restored;
    const record = this.record(id);
    if (!FINAL.includes(record.state)) act(record.control);
    return this.summary(record);
  }

  /** Resolves once the job has finished (done, failed or cancelled). */
  wait(id: string): Promise<JobSummary> {
    const restored = this.restored.get(id);
    if (restored) return Promise.resolve(restored);
    const record = this.record(id);
    if (FINAL.includes(record.state)) return Promise.resolve(this.summary(record));
    return new Promise((resolve) => record.waiters.push(resolve));
  }

  /**
   * Stops everything and the workers. A training run is interrupted as the CLI's Ctrl-C does it: it writes a
   * checkpoint of exactly where it is (mid-epoch) and ends 'interrupted'; its worker is stopped once it has (or
   * after `graceMs`).
   */
  async close(graceMs = CHECKPOINT_GRACE_MS): Promise<void> {
    const stopping: Promise<JobSummary>[] = [];
    for (const record of this.jobs.values()) {
      if (FINAL.includes(record.state)) continue;
      record.interrupted = true;
      record.control.cancel();
      if (record.spec.kind === 'train') stopping.push(this.wait(record.id));
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(stopping), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    clearTimeout(this.idleTimer);
    const hosts = new Set([...this.jobs.values()].map((r) => r.host));
    if (this.inference) hosts.add(this.inference);
    this.inference = null;
    await Promise.all([...hosts].map((h) => h.terminate()));
  }

  private record(id: string): JobRecord {
    const record = this.jobs.get(id);
    if (!record) throw notFound(`no job with id ${id}`);
    return record;
  }

  private inferenceHost(): WorkerHost {
    if (!this.inference) {
      const host: WorkerHost = new WorkerHost(
        { backend: this.inferenceBackend },
        (m) => this.onMessage(host, m),
        (h, reason) => this.onExit(h, reason),
      );
      this.inference = host;
    }
    return this.inference;
  }

  private trainHost(): WorkerHost {
    const host: WorkerHost = new WorkerHost(
      { backend: this.inferenceBackend },
      (m) => {
        if (m.type !== 'backend') this.onMessage(host, m);
        if ((m.type === 'done' || m.type === 'failed') && !host.busy) void host.terminate();
      },
      (h, reason) => this.onExit(h, reason),
    );
    return host;
  }

  private onMessage(host: WorkerHost, message: JobMessage): void {
    if (message.type === 'backend') {
      this.status = message.status;
      this.emit({ type: 'backend', backend: message.status });
      return;
    }
    const record = this.jobs.get(message.jobId);
    if (!record) return;
    switch (message.type) {
      case 'started':
        if (record.state === 'queued') {
          record.state = 'running';
          this.changed(record);
        }
        return;
      case 'update':
        this.apply(record, message.update);
        return;
      case 'done':
        this.finish(record, 'done', null, message.result);
        break;
      case 'failed':
        this.finish(record, message.cancelled ? (record.interrupted ? 'interrupted' : 'cancelled') : 'failed', message.cancelled ? null : message.error, null);
        break;
    }
    // A backend change waits for the inference queue to drain.
    if (host === this.inference && !host.busy && this.status.requested !== this.inferenceBackend) {
      this.inference = null;
      void host.terminate().then(() => this.warmUp());
    } else if (host === this.inference && !host.busy) {
      this.releaseWhenIdle(host);
    }
  }

  /** Stops the inference worker if no job comes within `inferenceIdleMs` (models and memory go with it). */
  private releaseWhenIdle(host: WorkerHost): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.inference !== host || host.busy) return;
      this.inference = null;
      void host.terminate();
    }, this.inferenceIdleMs);
    this.idleTimer.unref();
  }

  /** Whether an inference worker is running now (for tests and benches). */
  get inferenceRunning(): boolean {
    return this.inference !== null;
  }

  private apply(record: JobRecord, update: JobUpdate): void {
    switch (update.type) {
      case 'progress':
        record.progress = update.progress;
        this.emit({ type: 'progress', jobId: record.id, progress: update.progress });
        return;
      case 'caption':
        this.emit({ type: 'caption', jobId: record.id, item: update.item });
        return;
      case 'batch':
        record.lossCurve.push({ batch: update.batch, loss: update.loss, epsilon: update.epsilon });
        if (record.lossCurve.length > MAX_CURVE_POINTS) record.lossCurve = record.lossCurve.filter((_, i) => i % 2 === 0);
        this.emit({ type: 'batch', jobId: record.id, batch: update.batch, loss: update.loss, epsilon: update.epsilon });
        return;
      case 'epoch':
        record.epochs.push(update.epoch);
        this.emit({ type: 'epoch', jobId: record.id, epoch: update.epoch });
        return;
      case 'study':
        record.study.push(update.point);
        this.emit({ type: 'study', jobId: record.id, point: update.point });
        return;
      case 'paused':
        if (FINAL.includes(record.state)) return;
        record.state = update.paused ? 'paused' : 'running';
        this.changed(record);
        return;
    }
  }

  private finish(record: JobRecord, state: JobState, error: string | null, result: JobResult | null): void {
    if (FINAL.includes(record.state)) return;
    record.state = state;
    record.error = error;
    record.result = result;
    record.finishedAt = Date.now();
    const summary = this.summary(record);
    this.changed(record);
    for (const resolve of record.waiters.splice(0)) resolve(summary);
    void Promise.resolve(this.onFinished?.(summary)).catch(() => {});
  }

  private onExit(host: WorkerHost, reason: string): void {
    if (host === this.inference) this.inference = null;
    for (const record of this.jobs.values()) {
      if (record.host === host && !FINAL.includes(record.state)) this.finish(record, record.control.cancelled ? (record.interrupted ? 'interrupted' : 'cancelled') : 'failed', reason, null);
    }
  }

  private changed(record: JobRecord): void {
    this.emit({ type: 'job', job: this.summary(record) });
  }

  private emit(event: JobEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // a broken listener must not stop the others
      }
    }
  }

  private summary(r: JobRecord): JobSummary {
    return {
      id: r.id,
      kind: r.spec.kind,
      title: r.title,
      state: r.state,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      progress: r.progress,
      error: r.error,
      result: r.result,
      epochs: [...r.epochs],
      lossCurve: [...r.lossCurve],
      ...(r.request ? { request: r.request } : {}),
      ...(r.spec.kind === 'compare' ? { study: [...r.study] } : {}),
    };
  }
}
