/**
 * The Train view's live state: which run it follows, the per-batch loss and ε, the per-epoch validation
 * figures and sample captions, fed by the backend's events (and seeded from the job summary when the view
 * attaches to a run that is already going).
 */
import type { EpochReport, JobSummary } from '../../src-main/contract/types.ts';
import type { RequestOf } from '../../src-main/contract/schemas.ts';
import { api } from './api.ts';
import { app } from './app-state.svelte.ts';

class TrainState {
  jobId = $state<string | null>(null);
  loss = $state.raw<{ x: number; y: number }[]>([]);
  epsilon = $state.raw<{ x: number; y: number }[]>([]);
  epochs = $state.raw<EpochReport[]>([]);
  /** The request of the last run started here (for "resume" after a cancel). */
  lastRequest = $state.raw<RequestOf<'train.start'> | null>(null);

  constructor() {
    api.onEvent((event) => {
      if (event.type === 'batch' && event.jobId === this.jobId) {
        this.loss = [...this.loss, { x: event.batch + 1, y: event.loss }];
        this.epsilon = [...this.epsilon, { x: event.batch + 1, y: event.epsilon }];
      } else if (event.type === 'epoch' && event.jobId === this.jobId) {
        this.epochs = [...this.epochs, event.epoch];
      }
    });
  }

  get job(): JobSummary | null {
    return this.jobId ? (app.jobs[this.jobId] ?? null) : null;
  }

  /** Follows a run, taking what it has reported so far from its summary. */
  attach(job: JobSummary): void {
    this.jobId = job.id;
    this.loss = job.lossCurve.map((p) => ({ x: p.batch + 1, y: p.loss }));
    this.epsilon = job.lossCurve.map((p) => ({ x: p.batch + 1, y: p.epsilon }));
    this.epochs = [...job.epochs];
  }

  async start(request: RequestOf<'train.start'>): Promise<void> {
    const job = await app.run(api.call('train.start', request));
    if (!job) return;
    this.lastRequest = request;
    app.jobs[job.id] = app.jobs[job.id] ?? job;
    this.attach(job);
  }
}

export const trainState = new TrainState();
