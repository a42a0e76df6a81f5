/**
 * The backend behind the contract, front-end agnostic: the Electron IPC handlers and the browser mode's HTTP
 * server both call `call(method, payload)`, which validates the payload with the method's schema, runs the
 * operation and returns an envelope (value, or a one-line error with its code). Heavy work goes to the job
 * manager's worker threads; everything here is quick file and bookkeeping work.
 */
import { mkdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { MethodName } from '../contract/channels.ts';
import type { Envelope, ResponseOf } from '../contract/api.ts';
import { parseRequest, type ParsedRequestOf } from '../contract/schemas.ts';
import type { AppInfo, AppMode, JobEvent, JobSummary } from '../contract/types.ts';
import { JobManager } from '../jobs/job-manager.ts';
import { packageRoot } from '../util/paths.ts';
import { slugify } from './model-store.ts';
import { pathExists } from '../util/path-exists.ts';
import { writeCaptionResults } from './caption-results.ts';
import { convertDataset } from '../data/convert.ts';
import { loadDataset } from '../data/dataset.ts';
import { DatasetStore } from './dataset-store.ts';
import { describeError, notFound, unsupported } from '../contract/errors.ts';
import { listFolder } from './fs-browser.ts';
import { MediaAccess } from './media-access.ts';
import { ModelStore } from './model-store.ts';
import { interruptedRuns, markRunStopped, saveRunRequest } from './interrupted-runs.ts';
import { clearLeftovers } from './leftovers.ts';
import { checkExportTarget, ExportRegistry } from './export-target.ts';
import { expandImagePaths } from '../data/image-paths.ts';
import { recoverRun, runPaths } from '../engine/train.ts';
import { SettingsStore } from './settings-store.ts';
import { PlannedDatasets, trainSettingsOf } from './train-request.ts';
import { compareParamsOf } from './compare-request.ts';
import { planRun } from '../pipeline/train-plan.ts';
import { ThumbnailCache } from './thumbnails.ts';
import { removeOrphanUploadDirs, UPLOAD_DIR_PREFIX, UploadStore } from './upload-store.ts';
import { probeBackends } from '../engine/backend-probe.ts';

export interface AppServicesOptions {
  readonly mode: AppMode;
  /** The user's data folder: settings.json, models/, runs/. */
  readonly dataDir: string;
  /** Disposable caches: thumbnails, image features. */
  readonly cacheDir: string;
  /** The package's models folder (the shipped default model and the encoders). */
  readonly builtinModelsDir: string;
  /** This session's upload folder (browser mode); default a folder in the OS temp dir. */
  readonly uploadDir?: string;
  /** The native file dialog (Electron only); without it 'dialog.open' answers 'unsupported'. */
  readonly openDialog?: (purpose: ParsedRequestOf<'dialog.open'>['purpose']) => Promise<string[]>;
  /** The app's version when the host knows it (Electron's app.getVersion()); else read from package.json. */
  readonly version?: string;
  /** The desktop app's question before an export replaces a file the user did not choose in the save dialog. */
  readonly confirmOverwrite?: (file: string) => Promise<boolean>;
}

type Handlers = { [M in MethodName]: (request: ParsedRequestOf<M>) => Promise<ResponseOf<M>> };

export class AppServices {
  readonly media = new MediaAccess();
  readonly datasets: DatasetStore;
  readonly models: ModelStore;
  readonly thumbnails: ThumbnailCache;
  readonly uploads: UploadStore;
  readonly jobs: JobManager;
  /** The dataset the Train view is planning on, read once while it stays unchanged on disk. */
  private readonly planDatasets = new PlannedDatasets();
  private readonly listeners = new Set<(event: JobEvent) => void>();
  private readonly handlers: Handlers;
  private version = '0.0.0';
  /** The uploaded files each running caption job works on (removed when it ends). */
  private readonly uploadsOfJob = new Map<string, string[]>();
  /** Files the user chose in the native save dialog this session (an export may replace them). */
  private readonly chosenOutputs = new Set<string>();

  private constructor(
    readonly options: AppServicesOptions,
    readonly settings: SettingsStore,
    private readonly exports: ExportRegistry,
  ) {
    this.datasets = new DatasetStore(this.media);
    this.models = new ModelStore(options.builtinModelsDir, path.join(options.dataDir, 'models'), path.join(options.dataDir, 'runs'));
    this.thumbnails = new ThumbnailCache(path.join(options.cacheDir, 'thumbs'));
    this.uploads = new UploadStore(options.uploadDir ?? path.join(os.tmpdir(), `${UPLOAD_DIR_PREFIX}${process.pid}-${Date.now()}`), this.media);
    this.jobs = new JobManager(settings.get().backend);
    this.jobs.subscribe((event) => this.forward(event));
    this.jobs.onFinished = (job) => this.jobFinished(job);
    this.handlers = this.makeHandlers();
  }

  /** Reads the settings and prepares the folders; the inference worker starts in the background. */
  static async create(options: AppServicesOptions): Promise<AppServices> {
    await mkdir(options.dataDir, { recursive: true });
    await mkdir(options.cacheDir, { recursive: true });
    const services = new AppServices(options, await SettingsStore.open(options.dataDir), await ExportRegistry.open(options.dataDir));
    if (options.version) services.version = options.version;
    else {
      try {
        const pkg = JSON.parse(await readFile(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: string };
        services.version = pkg.version ?? services.version;
      } catch {
        // version stays unknown
      }
    }
    // What killed saves left (temporary files, a model moved aside mid-swap) is put back or removed first.
    await clearLeftovers(options.dataDir, services.models.userDir, services.models.runsDir);
    await removeOrphanUploadDirs();
    // Runs an earlier session left unfinished can be resumed from this one.
    for (const job of await interruptedRuns(services.models.runsDir)) services.jobs.restore(job);
    services.jobs.warmUp();
    return services;
  }

  /** Validates and runs one method; never throws. */
  async call<M extends MethodName>(method: M, payload: unknown): Promise<Envelope<M>> {
    try {
      const request = parseRequest(method, payload);
      const value = await (this.handlers[method] as (r: ParsedRequestOf<M>) => Promise<ResponseOf<M>>)(request);
      return { ok: true, value };
    } catch (err) {
      const { code, message } = describeError(err);
      return { ok: false, error: message, code };
    }
  }

  /** Subscribes to job, model-list and backend events; returns the unsubscribe function. */
  subscribe(listener: (event: JobEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Stops the workers (a training run first writes a checkpoint of where it is, and is noted as stopped by the app,
   * to be listed as interrupted at the next start) and removes this session's uploads.
   */
  async close(): Promise<void> {
    await this.jobs.close();
    for (const job of this.jobs.list()) {
      if (job.kind === 'train' && job.state === 'interrupted' && job.request?.runId) {
        await markRunStopped(path.join(this.models.runsDir, job.request.runId), 'app').catch(() => {});
      }
    }
    await this.uploads.clear();
  }

  /** Job events waiting behind an epoch's sample grants (null when none wait: events then go out at once). */
  private queued: Promise<void> | null = null;

  /**
   * Passes a job event on, in order: an epoch event waits until the images it names are granted, and events after
   * it wait behind it (so an epoch never arrives after its job's 'done', nor epoch N+1 before N).
   */
  private forward(event: JobEvent): void {
    const samples = event.type === 'epoch' && event.epoch.samples.length > 0 ? event.epoch.samples : null;
    if (!samples && !this.queued) return this.emit(event);
    const next = (this.queued ?? Promise.resolve()).then(async () => {
      if (samples) await this.grantSamples(samples);
      this.emit(event);
    });
    this.queued = next;
    void next.finally(() => {
      if (this.queued === next) this.queued = null;
    });
  }

  private emit(event: JobEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // one broken listener must not stop the others
      }
    }
  }

  /** Refuses an output file an export may not write (see export-target.ts). */
  private async checkOutput(file: string, overwrite: boolean): Promise<void> {
    await checkExportTarget(path.resolve(file), {
      previousExports: this.exports.known,
      chosenInDialog: this.chosenOutputs,
      overwrite,
      ...(this.options.confirmOverwrite ? { confirmOverwrite: this.options.confirmOverwrite } : {}),
    });
  }

  /** An export's file: the page may download it, and a later export may replace it. */
  private async outputWritten(files: readonly string[]): Promise<void> {
    for (const file of files) {
      await this.media.allowOutput(file).catch(() => {});
      await this.exports.add(file).catch(() => {});
    }
  }

  private async jobFinished(job: JobSummary): Promise<void> {
    const uploaded = this.uploadsOfJob.get(job.id);
    if (uploaded) {
      this.uploadsOfJob.delete(job.id);
      await this.uploads.remove(uploaded).catch(() => {});
    }
    if (job.result?.kind === 'export' && job.result.format !== 'sidecar') await this.outputWritten([job.result.outPath]);
    if (job.result?.kind === 'train' || job.result?.kind === 'compare') this.emit({ type: 'models', models: await this.models.list() });
  }

  /**
   * Lets the UI show the images of a training run's sample captions: those files only, granted before the epoch
   * event that names them goes out (never the folder the dataset path points into: a mistyped path must not open
   * a whole home folder).
   */
  private async grantSamples(samples: readonly { imagePath: string }[]): Promise<void> {
    await Promise.all(samples.map((s) => this.media.allow(s.imagePath).catch(() => {})));
  }

  private async modelsChanged(): Promise<void> {
    this.emit({ type: 'models', models: await this.models.list() });
  }

  private info(): AppInfo {
    return {
      name: 'Caption Studio',
      version: this.version,
      mode: this.options.mode,
      platform: process.platform,
      settings: this.settings.get(),
      backend: this.jobs.backend(),
      homeDir: os.homedir(),
      userModelsDir: this.models.userDir,
    };
  }

  private makeHandlers(): Handlers {
    const settings = this.settings;
    return {
      'app.info': async () => this.info(),
      'backends.list': async () => probeBackends(),
      'settings.get': async () => settings.get(),
      'settings.update': async (patch) => {
        if (patch.modelId) await this.models.get(patch.modelId);
        const next = await settings.update(patch);
        await this.jobs.setBackend(next.backend);
        this.emit({ type: 'settings', settings: next });
        return next;
      },
      'fs.list': async ({ path: dir }) => listFolder(dir, [{ label: 'Models', path: this.models.userDir }]),
      'files.upload': async ({ name, base64 }) => ({ path: await this.uploads.save(name, Buffer.from(base64, 'base64')) }),
      'dialog.open': async ({ purpose }) => {
        if (!this.options.openDialog) throw unsupported('native file dialogs exist only in the desktop app');
        const paths = await this.options.openDialog(purpose);
        if (purpose === 'save-csv') for (const p of paths) this.chosenOutputs.add(path.resolve(p));
        return { paths };
      },
      'caption.start': async ({ paths, modelId, beamSize }) => {
        const s = settings.get();
        const model = await this.models.resolve(modelId ?? s.modelId);
        const linked: string[] = [];
        const unreadable: string[] = [];
        const loops: string[] = [];
        const found = await expandImagePaths(paths, { onLinked: (real) => linked.push(real), onUnreadable: (_dir, message) => unreadable.push(message), onLinkLoop: (link) => loops.push(link) });
        // A link loop is listed with the job's failed items (its reason in one line), not skipped silently.
        const files = [...found, ...loops];
        if (files.length === 0) {
          throw notFound(unreadable[0] ?? `no image files in ${paths.length === 1 ? paths[0] : `the ${paths.length} paths given`}`);
        }
        // The UI shows these images: the folders and files named, and what links inside them lead to.
        await Promise.all([...paths, ...linked].map((p) => this.media.allow(p)));
        const title = files.length === 1 ? `Caption ${path.basename(files[0]!)}` : `Caption ${files.length} images`;
        const job = this.jobs.start(
          {
            kind: 'caption',
            params: {
              paths: files,
              modelId: model.id,
              modelDir: model.dir,
              beamSize: beamSize ?? s.beamSize,
              maxLength: s.maxLength,
              ...(s.captionWorkers !== null ? { workers: s.captionWorkers } : {}),
            },
          },
          title,
        );
        // Uploaded copies are removed once this job has read them.
        const uploaded = files.filter((f) => this.uploads.holds(f));
        if (uploaded.length) this.uploadsOfJob.set(job.id, uploaded);
        return job;
      },
      'caption.explain': async ({ path: image, caption, modelId }) => {
        const s = settings.get();
        const model = await this.models.resolve(modelId ?? s.modelId);
        const requested = path.resolve(image);
        if (this.uploads.holds(requested) && !(await pathExists(requested))) {
          throw notFound(`the uploaded copy of ${path.basename(requested)} was removed when its caption job ended: open the image from its folder on disk to explain it`);
        }
        const file = await this.media.resolveImage(requested);
        return this.jobs.explain({ path: file, ...(caption ? { caption } : {}), modelDir: model.dir, beamSize: s.beamSize, maxLength: s.maxLength });
      },
      'dataset.open': async (source) => this.datasets.openDataset(source),
      'dataset.items': async ({ datasetId, offset, limit }) => ({ items: this.datasets.items(datasetId, offset, limit) }),
      'dataset.save': async ({ datasetId, changes, machine }) => this.datasets.save(datasetId, changes, machine),
      'dataset.close': async ({ datasetId }) => ({ closed: this.datasets.close(datasetId) }),
      'train.plan': async (req) => {
        const dataset = req.dataset ? await this.planDatasets.get(req.dataset) : null;
        return planRun(dataset, {
          ...(req.epochs !== undefined ? { epochs: req.epochs } : {}),
          ...(req.batchSize !== undefined ? { batchSize: req.batchSize } : {}),
          ...(req.minCount !== undefined ? { minCount: req.minCount } : {}),
          ...(req.schedule ? { schedule: req.schedule } : {}),
          split: {
            ...(req.seed !== undefined ? { seed: req.seed } : {}),
            ...(req.valFraction !== undefined ? { valFraction: req.valFraction } : {}),
            ...(req.testFraction !== undefined ? { testFraction: req.testFraction } : {}),
          },
        });
      },
      'train.start': async (req) => {
        // A run's id names its checkpoint folder and, where free, the model it installs. New ids avoid both
        // models and runs, so a cancelled run stays resumable and no model is ever installed over another.
        const runs = this.models.runsDir;
        let runId: string;
        let target: { id: string; dir: string };
        if (req.resume) {
          runId = req.runId ?? slugify(req.name);
          if (!(await pathExists(path.join(runs, runId)))) throw notFound(`no checkpoint of "${req.name}" to resume (run ${runId})`);
          target = (await pathExists(this.models.dirOf(runId))) ? await this.models.newModelDir(req.name) : { id: runId, dir: this.models.dirOf(runId) };
        } else {
          target = await this.models.newModelDir(req.name);
          runId = target.id;
        }
        const runDir = path.join(runs, runId);
        await saveRunRequest(runDir, { ...req, runId });
        // A run stopped before its first checkpoint (while reading its data) starts over.
        await recoverRun(runDir).catch(() => {});
        const resume = (req.resume ?? false) && (await pathExists(runPaths(runDir).latest));
        return this.jobs.start(
          {
            kind: 'train',
            params: {
              dataset: { path: path.resolve(req.dataset.path), ...(req.dataset.format ? { format: req.dataset.format } : {}), ...(req.dataset.imagesDir ? { imagesDir: path.resolve(req.dataset.imagesDir) } : {}) },
              name: req.name,
              modelId: target.id,
              modelDir: target.dir,
              checkpointDir: runDir,
              cacheDir: this.options.cacheDir,
              ...trainSettingsOf(req),
              resume,
              ...(settings.get().trainWorkers !== null ? { workers: settings.get().trainWorkers! } : {}),
            },
          },
          `${resume ? 'Resume' : 'Train'} ${req.name}`,
          { ...req, runId },
        );
      },
      'compare.start': async (req) => {
        const workers = settings.get().trainWorkers;
        const params = compareParamsOf(req, {
          studiesDir: path.join(this.options.dataDir, 'studies'),
          cacheDir: this.options.cacheDir,
          model: await this.models.newModelDir(req.name),
          ...(workers !== null ? { workers } : {}),
        });
        return this.jobs.start({ kind: 'compare', params }, `Compare schedules: ${req.name}`);
      },
      'export.start': async (req) => {
        const s = settings.get();
        const model = await this.models.resolve(req.modelId ?? s.modelId);
        const format = req.format ?? 'csv';
        const source = path.resolve(req.source.path);
        const outPath = req.outPath ? path.resolve(req.outPath) : source;
        if (format !== 'sidecar') await this.checkOutput(outPath, req.overwrite ?? false);
        return this.jobs.start(
          {
            kind: 'export',
            params: {
              source: { path: source, ...(req.source.format ? { format: req.source.format } : {}), ...(req.source.imagesDir ? { imagesDir: path.resolve(req.source.imagesDir) } : {}) },
              asDataset: req.includeReferences ?? false,
              outPath,
              format,
              bom: req.bom ?? false,
              overwrite: req.overwrite ?? false,
              modelId: model.id,
              modelDir: model.dir,
              beamSize: req.beamSize ?? s.beamSize,
              includeReferences: req.includeReferences ?? false,
              ...(s.captionWorkers !== null ? { workers: s.captionWorkers } : {}),
            },
          },
          format === 'sidecar' ? `Caption files in ${path.basename(source)}` : `Export ${path.basename(outPath)}`,
        );
      },
      'captions.write': async (req) => {
        if (req.format !== 'sidecar') await this.checkOutput(req.outPath!, req.overwrite ?? false);
        const written = await writeCaptionResults(req, { uploadDir: this.uploads.dir });
        if (written.format !== 'sidecar') await this.outputWritten(written.written);
        return written;
      },
      'dataset.convert': async ({ source, to, outPath, bom, overwrite }) => {
        const dataset = await loadDataset(source.path, { ...(source.format ? { format: source.format } : {}), ...(source.imagesDir ? { imagesDir: source.imagesDir } : {}) });
        if (to !== 'sidecar') await this.checkOutput(outPath!, overwrite ?? false);
        const report = await convertDataset(dataset, { to, ...(outPath ? { out: outPath } : {}), bom: bom ?? false, overwrite: overwrite ?? false });
        if (to !== 'sidecar') await this.outputWritten(report.written);
        return report;
      },
      'models.list': async () => this.models.list(),
      'models.import': async ({ path: source }) => {
        const model = await this.models.import(source);
        await this.modelsChanged();
        return model;
      },
      'models.export': async ({ id, destPath }) => ({ path: await this.models.export(id, destPath) }),
      'models.delete': async ({ id }) => {
        await this.models.delete(id);
        if (settings.get().modelId === id) this.emit({ type: 'settings', settings: await settings.update({ modelId: null }) });
        await this.modelsChanged();
        return { deleted: id };
      },
      'jobs.list': async () => this.jobs.list(),
      'jobs.cancel': async ({ jobId }) => {
        // A training run the user cancels is listed as cancelled (not interrupted) at the next start.
        const runId = this.jobs.get(jobId)?.request?.runId;
        if (runId && (await pathExists(path.join(this.models.runsDir, runId)))) await markRunStopped(path.join(this.models.runsDir, runId), 'user');
        return this.jobs.cancel(jobId);
      },
      'jobs.pause': async ({ jobId }) => this.jobs.pause(jobId),
      'jobs.resume': async ({ jobId }) => this.jobs.resume(jobId),
    };
  }
}
