/**
 * The job worker thread: starts the tfjs backend the user chose, then runs the jobs the main thread sends, one at
 * a time, posting their updates. Long synchronous tfjs work happens here, so the window and the HTTP server stay
 * responsive; pause and cancel arrive through shared memory (control.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { BackendStatus, JobResult } from '../contract/types.ts';
import { describeBackend, initBackend } from '../engine/backend.ts';
import { CancelledError } from '../util/progress.ts';
import { JobGate } from './control.ts';
import { EngineCache } from './engine-cache.ts';
import type { FromWorker, JobSpec, ToWorker, WorkerInit } from './job-types.ts';
import { runCaptionJob } from './runners/caption-runner.ts';
import type { JobContext } from './runners/job-context.ts';

const port = parentPort;
if (!port) throw new Error('jobs/worker.ts must run in a worker thread');
const init = workerData as WorkerInit;
const engine = new EngineCache();

function post(message: FromWorker): void {
  port!.postMessage(message);
}

const ready: Promise<BackendStatus> = initBackend({ prefer: init.backend }).then(
  (report) => ({ requested: init.backend, active: report.backend, description: describeBackend(report), error: null }),
  (err: unknown) => ({ requested: init.backend, active: null, description: null, error: (err as Error).message.split('\n')[0]! }),
);
void ready.then((status) => post({ type: 'backend', status }));

async function run(spec: JobSpec, ctx: JobContext): Promise<JobResult> {
  const status = await ready;
  if (status.error) throw new Error(`no tfjs backend: ${status.error}`);
  switch (spec.kind) {
    case 'caption':
      return runCaptionJob(spec.params, ctx, engine);
    case 'export': {
      const { runExportJob } = await import('./runners/export-runner.ts');
      return runExportJob(spec.params, ctx, engine);
    }
    case 'train': {
      const { runTrainJob } = await import('./runners/train-runner.ts');
      return runTrainJob(spec.params, ctx, engine);
    }
    case 'compare': {
      const { runCompareJob } = await import('./runners/compare-runner.ts');
      return runCompareJob(spec.params, ctx, engine);
    }
  }
}

// Jobs run one after another in the order they arrive.
let chain: Promise<void> = Promise.resolve();
port.on('message', (message: ToWorker) => {
  if (message.type === 'explain') {
    const { callId, params } = message;
    chain = chain.then(async () => {
      try {
        const status = await ready;
        if (status.error) throw new Error(`no tfjs backend: ${status.error}`);
        const { runExplain } = await import('./runners/explain-runner.ts');
        post({ type: 'explained', callId, value: await runExplain(params, engine) });
      } catch (err) {
        post({ type: 'explain-failed', callId, error: (err instanceof Error ? err.message : String(err)).split('\n')[0]! });
      }
    });
    return;
  }
  const { jobId, spec, control } = message;
  chain = chain.then(async () => {
    const ctx: JobContext = {
      jobId,
      gate: new JobGate(control, (paused) => post({ type: 'update', jobId, update: { type: 'paused', paused } })),
      update: (update) => post({ type: 'update', jobId, update }),
    };
    try {
      ctx.gate.checkpoint();
      post({ type: 'started', jobId });
      const result = await run(spec, ctx);
      post({ type: 'done', jobId, result });
    } catch (err) {
      const cancelled = err instanceof CancelledError || ctx.gate.signal.aborted;
      post({ type: 'failed', jobId, error: cancelled ? 'cancelled' : (err instanceof Error ? err.message : String(err)).split('\n')[0]!, cancelled });
    }
  });
});
