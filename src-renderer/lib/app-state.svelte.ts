/**
 * State every view shares, kept up to date from the backend's events: app info and settings, the model list,
 * jobs, the backend status, toasts, and which view is showing.
 */
import type { ResponseOf } from '../../src-main/contract/api.ts';
import type { AppInfo, BackendStatus, JobEvent, JobSummary, ModelSummary, Settings } from '../../src-main/contract/types.ts';
import type { RequestOf } from '../../src-main/contract/schemas.ts';
import { api, ApiError } from './api.ts';

export const VIEWS = ['caption', 'datasets', 'train', 'export', 'models', 'settings'] as const;
export type ViewName = (typeof VIEWS)[number];

export interface Toast {
  readonly id: number;
  readonly kind: 'info' | 'error' | 'success';
  readonly text: string;
}

class AppState {
  view = $state<ViewName>('caption');
  info = $state<AppInfo | null>(null);
  settings = $state<Settings | null>(null);
  backend = $state<BackendStatus | null>(null);
  models = $state<ModelSummary[]>([]);
  jobs = $state<Record<string, JobSummary>>({});
  toasts = $state<Toast[]>([]);
  connected = $state(true);
  /** Set when the page's session has ended for good (browser mode: the server restarted): what to tell the user. */
  sessionEnded = $state<string | null>(null);
  /** The dataset path last opened in the Datasets view (Train and Export offer it). */
  lastDataset = $state<{ path: string; format: string } | null>(null);
  private toastId = 0;

  /** Events seen per piece of state ('backend', 'models', 'settings', 'job:<id>'), so that a slower snapshot never undoes one. */
  private readonly seen = new Map<string, number>();

  /**
   * Loads info, settings, models and jobs, and starts following events. Events sent while the event stream was
   * not connected (before the browser mode's WebSocket opened, or while it reconnected) are lost, so the state is
   * loaded again each time the stream connects.
   */
  async start(): Promise<void> {
    api.onEvent((event) => this.apply(event));
    api.onSessionEnded((message) => {
      this.sessionEnded = message;
      // The jobs of the old server are gone with it.
      for (const [id, job] of Object.entries(this.jobs)) {
        if (job.state === 'running' || job.state === 'queued' || job.state === 'paused') {
          this.jobs[id] = { ...job, state: 'failed', error: 'the server was restarted; this run stopped with it' };
        }
      }
    });
    let wasConnected = false;
    api.onConnection((connected) => {
      this.connected = connected;
      if (connected && !wasConnected) void this.sync().catch(() => {});
      wasConnected = connected;
    });
    await this.sync();
  }

  private syncs = 0;

  /**
   * Takes the backend's current state, except the pieces an event has updated since the request went out; jobs
   * the backend no longer knows (it was restarted) are dropped. Of overlapping syncs only the last one applies.
   */
  private async sync(): Promise<void> {
    const generation = ++this.syncs;
    const before = new Map(this.seen);
    const fresh = (key: string): boolean => (this.seen.get(key) ?? 0) === (before.get(key) ?? 0);
    const [info, models, jobs] = await Promise.all([api.call('app.info', {}), api.call('models.list', {}), api.call('jobs.list', {})]);
    if (generation !== this.syncs && this.info !== null) return;
    this.info = info;
    if (fresh('settings')) this.settings = info.settings;
    if (fresh('backend')) this.backend = info.backend;
    if (fresh('models')) this.models = [...models];
    const known = new Set(jobs.map((j) => j.id));
    for (const id of Object.keys(this.jobs)) if (!known.has(id) && fresh(`job:${id}`)) delete this.jobs[id];
    for (const job of jobs) if (fresh(`job:${job.id}`)) this.jobs[job.id] = job;
  }

  /** Adds a job this window just started (its summary from the reply), unless an event already brought it. */
  addJob(job: JobSummary): void {
    this.see(`job:${job.id}`);
    this.jobs[job.id] = this.jobs[job.id] ?? job;
  }

  private see(key: string): void {
    this.seen.set(key, (this.seen.get(key) ?? 0) + 1);
  }

  private apply(event: JobEvent): void {
    switch (event.type) {
      case 'job':
        this.see(`job:${event.job.id}`);
        this.jobs[event.job.id] = event.job;
        return;
      case 'progress': {
        const job = this.jobs[event.jobId];
        if (job) this.jobs[event.jobId] = { ...job, progress: event.progress };
        return;
      }
      case 'models':
        this.see('models');
        this.models = [...event.models];
        return;
      case 'backend':
        this.see('backend');
        this.backend = event.backend;
        return;
      case 'settings':
        this.see('settings');
        this.settings = event.settings;
        return;
      default:
        return;
    }
  }

  /** A model's name as pickers show it: with its id when another model has the same name. */
  modelLabel(model: ModelSummary): string {
    return this.models.some((m) => m.id !== model.id && m.name === model.name) ? `${model.name} (${model.id})` : model.name;
  }

  /** The model captions use now. */
  get currentModel(): ModelSummary | null {
    const id = this.settings?.modelId;
    return this.models.find((m) => m.id === id) ?? this.models[0] ?? null;
  }

  async updateSettings(patch: RequestOf<'settings.update'>): Promise<void> {
    const next = await this.run(api.call('settings.update', patch));
    if (next) this.settings = next;
  }

  async refreshModels(): Promise<void> {
    const models = await this.run(api.call('models.list', {}));
    if (models) this.models = [...models];
  }

  toast(text: string, kind: Toast['kind'] = 'info'): void {
    const id = ++this.toastId;
    this.toasts = [...this.toasts, { id, kind, text }];
    setTimeout(() => this.dismiss(id), kind === 'error' ? 8000 : 4000);
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((t) => t.id !== id);
  }

  /** Awaits a call; an error becomes a toast and the result null. */
  async run<T>(promise: Promise<T>): Promise<T | null> {
    try {
      return await promise;
    } catch (err) {
      this.toast(err instanceof ApiError || err instanceof Error ? err.message : String(err), 'error');
      return null;
    }
  }
}

export const app = new AppState();
export type { ResponseOf };
