/** What a job runner gets from the worker: its id, the pause/cancel gate and the channel for updates. */
import type { JobGate } from '../control.ts';
import type { JobUpdate } from '../job-types.ts';

export interface JobContext {
  readonly jobId: string;
  readonly gate: JobGate;
  update(update: JobUpdate): void;
}
