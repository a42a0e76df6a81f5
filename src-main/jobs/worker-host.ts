/**
 * One job worker thread as the main thread sees it: started with the TypeScript loader in development and tests
 * (the source runs as is), or as the bundled `job-worker.js` beside the bundled main process in the packaged app.
 */
import { Worker } from 'node:worker_threads';
import type { FromWorker, JobSpec, ToWorker, WorkerInit } from './job-types.ts';

/** Where the worker's code is and how to start it. */
export function workerScript(): { url: URL; execArgv: string[] } {
  if (import.meta.url.endsWith('.ts')) return { url: new URL('./worker-boot.mjs', import.meta.url), execArgv: [] };
  // Bundled: this code lives in out/main/index.js, the worker in out/main/job-worker.js.
  return { url: new URL('./job-worker.js', import.meta.url), execArgv: [] };
}

export class WorkerHost {
  private readonly worker: Worker;
  private exited = false;
  /** Jobs sent and not yet finished. */
  readonly inFlight = new Set<string>();

  constructor(
    init: WorkerInit,
    onMessage: (message: FromWorker) => void,
    onExit: (host: WorkerHost, reason: string) => void,
  ) {
    const { url, execArgv } = workerScript();
    this.worker = new Worker(url, { workerData: init, execArgv, stdout: false, stderr: false });
    this.worker.on('message', (message: FromWorker) => {
      if (message.type === 'done' || message.type === 'failed') this.inFlight.delete(message.jobId);
      onMessage(message);
    });
    this.worker.on('error', (err) => {
      if (!this.exited) onExit(this, `job worker crashed: ${err.message.split('\n')[0]}`);
      this.exited = true;
    });
    this.worker.on('exit', (code) => {
      if (!this.exited) onExit(this, `job worker stopped (exit code ${code})`);
      this.exited = true;
    });
  }

  get busy(): boolean {
    return this.inFlight.size > 0;
  }

  run(jobId: string, spec: JobSpec, control: SharedArrayBuffer): void {
    this.inFlight.add(jobId);
    const message: ToWorker = { type: 'run', jobId, spec, control };
    this.worker.postMessage(message);
  }

  /** Stops the thread (jobs in it are lost; the exit is not reported as a crash). */
  async terminate(): Promise<void> {
    if (this.exited) return;
    this.exited = true;
    await this.worker.terminate();
  }
}
