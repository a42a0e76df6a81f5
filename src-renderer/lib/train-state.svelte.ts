/**
 * The Train view's live state: which run it follows, the per-batch loss and ε, the per-epoch validation
 * figures and sample captions, fed by the backend's events (and seeded from the job summary when the view
 * attaches to a run that is already going).
 */
import type { EpochReport, JobSummary } from '../../src-main/contract/types.ts';
import type { RequestOf } from '../../src-main/contract/schemas.ts';
import { api } from './api.ts';
import { app } from './app-state.svelte.ts';

/** The points of a chart series before x (a resumed run recomputes the batches after its checkpoint). */
function before(points: readonly { x: number; y: number }[], x: number): { x: number; y: number }[] {
  return points.length > 0 && points.at(-1)!.x >= x ? points.filter((p) => p.x < x) : [...points];
}

class TrainState {
  jobId = $state<string | null>(null);
  loss = $state.raw<{ x: number; y: number }[]>([]);
  epsilon = $state.raw<{ x: number; y: number }[]>([]);
  epochs = $state.raw<EpochReport[]>([]);

  constructor() {
    api.onEvent((event) => {
      if (event.type === 'batch' && event.jobId === this.jobId) {
        const x = event.batch + 1;
        this.loss = [...before(this.loss, x), { x, y: event.loss }];
        this.epsilon = [...before(this.epsilon, x), { x, y: event.epsilon }];
      } else if (event.type === 'epoch' && event.jobId === this.jobId) {
        this.epochs = [...this.epochs.filter((e) => e.epoch < event.epoch.epoch), event.epoch];
      }
    });
  }

  get job(): JobSummary | null {
    return this.jobId ? (app.jobs[this.jobId] ?? null) : null;
  }

  /**
   * Follows a run, taking what it has reported so far from its summary. A resumed run continues the charts of
   * the run it resumes (`previous`); points it computes again (after its checkpoint) replace the earlier ones.
   */
  attach(job: JobSummary, previous?: JobSummary): void {
    this.jobId = job.id;
    const curve = [...(previous?.lossCurve ?? []), ...job.lossCurve];
    this.loss = curve.map((p) => ({ x: p.batch + 1, y: p.loss }));
    this.epsilon = curve.map((p) => ({ x: p.batch + 1, y: p.epsilon }));
    this.epochs = [...(previous?.epochs ?? []), ...job.epochs];
  }

  async start(request: RequestOf<'train.start'>, previous?: JobSummary): Promise<void> {
    const job = await app.run(api.call('train.start', request));
    if (!job) return;
    app.addJob(job);
    this.attach(job, request.resume ? previous : undefined);
  }
}

export const trainState = new TrainState();
