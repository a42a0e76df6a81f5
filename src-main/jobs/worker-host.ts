/**
 * One job worker thread as the main thread sees it: started with the TypeScript loader in development and tests
 * (the source runs as is), or as the bundled `job-worker.js` beside the bundled main process in the packaged app.
 */
import { Worker } from 'node:worker_threads';
import type { CaptionExplanationView } from '../contract/types.ts';
import type { ExplainParams, FromWorker, JobMessage, JobSpec, ToWorker, WorkerInit } from './job-types.ts';

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
  /** Explain calls sent and not yet answered. */
  private readonly calls = new Map<number, { resolve: (v: CaptionExplanationView) => void; reject: (e: Error) => void }>();
  private nextCall = 1;

  constructor(
    init: WorkerInit,
    onMessage: (message: JobMessage) => void,
    onExit: (host: WorkerHost, reason: string) => void,
  ) {
    const { url, execArgv } = workerScript();
    this.worker = new Worker(url, { workerData: init, execArgv, stdout: false, stderr: false });
    this.worker.on('message', (message: FromWorker) => {
      if (message.type === 'explained' || message.type === 'explain-failed') {
        const call = this.calls.get(message.callId);
        this.calls.delete(message.callId);
        if (message.type === 'explained') call?.resolve(message.value);
        else call?.reject(new Error(message.error));
        return;
      }
      if (message.type === 'done' || message.type === 'failed') this.inFlight.delete(message.jobId);
      onMessage(message);
    });
    this.worker.on('error', (err) => {
      this.failCalls(`job worker crashed: ${err.message.split('\n')[0]}`);
      if (!this.exited) onExit(this, `job worker crashed: ${err.message.split('\n')[0]}`);
      this.exited = true;
    });
    this.worker.on('exit', (code) => {
      this.failCalls(`job worker stopped (exit code ${code})`);
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

  /** Explains a caption in the worker, after the jobs queued before it. */
  explain(params: ExplainParams): Promise<CaptionExplanationView> {
    if (this.exited) return Promise.reject(new Error('the job worker has stopped'));
    const callId = this.nextCall++;
    return new Promise((resolve, reject) => {
      this.calls.set(callId, { resolve, reject });
      const message: ToWorker = { type: 'explain', callId, params };
      this.worker.postMessage(message);
    });
  }

  private failCalls(reason: string): void {
    for (const call of this.calls.values()) call.reject(new Error(reason));
    this.calls.clear();
  }

  /** Stops the thread (jobs in it are lost; the exit is not reported as a crash). */
  async terminate(): Promise<void> {
    if (this.exited) return;
    this.exited = true;
    this.failCalls('the job worker was stopped');
    await this.worker.terminate();
  }
}
