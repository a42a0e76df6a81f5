/**
 * Training runs that outlived their session: each run folder keeps the request that started it
 * (`request.json`), so that a run whose app or server was closed mid-training — its last checkpoint not marked
 * finished — is listed again at the next start, as an 'interrupted' job (or 'cancelled' when the user cancelled
 * it) that "Resume" continues exactly where it stopped. `stopped.json` says who stopped a run: the user (written
 * when they cancel) or the app (written as it closes; it also lists a run stopped before its first checkpoint,
 * e.g. while computing image features, which then starts over).
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RequestOf } from '../contract/schemas.ts';
import { parseRequest } from '../contract/schemas.ts';
import type { JobSummary } from '../contract/types.ts';
import { readCheckpointMeta } from '../engine/checkpoint.ts';
import { recoverRun, runPaths } from '../engine/train.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

/** The file in a run folder holding the request that started the run. */
export const RUN_REQUEST_FILE = 'request.json';

/** The file in a run folder saying who stopped the run. */
export const RUN_STOPPED_FILE = 'stopped.json';

/** Keeps the request of a run (with its id, as a fresh start) in its folder; a run (re)started is no longer stopped. */
export async function saveRunRequest(runDir: string, request: RequestOf<'train.start'>): Promise<void> {
  await writeFileAtomic(path.join(runDir, RUN_REQUEST_FILE), `${JSON.stringify({ ...request, resume: false }, null, 2)}\n`);
  await rm(path.join(runDir, RUN_STOPPED_FILE), { force: true });
}

/** Notes in a run's folder who stopped it: the user (a cancel) or the app (it closed while the run trained). */
export async function markRunStopped(runDir: string, by: 'user' | 'app'): Promise<void> {
  await writeFileAtomic(path.join(runDir, RUN_STOPPED_FILE), `${JSON.stringify({ by, at: new Date().toISOString() })}\n`);
}

async function stoppedBy(runDir: string): Promise<'user' | 'app' | null> {
  try {
    const by = (JSON.parse(await readFile(path.join(runDir, RUN_STOPPED_FILE), 'utf8')) as { by?: unknown }).by;
    return by === 'user' || by === 'app' ? by : null;
  } catch {
    return null;
  }
}

/**
 * The unfinished runs under `runsDir`, newest first, as interrupted (or cancelled) train jobs with their epochs
 * and loss curve so far, and where they stopped. Folders without a valid request are passed over, and so are those
 * without a checkpoint unless the app noted it stopped them.
 */
export async function interruptedRuns(runsDir: string): Promise<JobSummary[]> {
  const names = await readdir(runsDir).catch(() => [] as string[]);
  const found: JobSummary[] = [];
  for (const runId of names) {
    const runDir = path.join(runsDir, runId);
    let request: RequestOf<'train.start'>;
    try {
      request = parseRequest('train.start', JSON.parse(await readFile(path.join(runDir, RUN_REQUEST_FILE), 'utf8')));
    } catch {
      continue;
    }
    await recoverRun(runDir).catch(() => {});
    const checkpoint = await readCheckpointMeta(runPaths(runDir).latest).catch(() => null);
    const by = await stoppedBy(runDir);
    if (checkpoint?.meta.finished || (!checkpoint && by !== 'app')) continue;
    const state = by === 'user' ? 'cancelled' : 'interrupted';
    const meta = checkpoint?.meta;
    const savedAt = (checkpoint && Date.parse(checkpoint.savedAt)) || (await stat(path.join(runDir, RUN_REQUEST_FILE)).then((st) => st.mtimeMs, () => 0));
    const where = meta
      ? `stopped at epoch ${meta.position.epoch + 1} of ${meta.config.epochs}, after batch ${meta.position.batchInEpoch} of that epoch`
      : 'stopped before its first checkpoint (while reading the data); resuming starts it over';
    found.push({
      id: `run-${runId}`,
      kind: 'train',
      title: state === 'interrupted' ? `Train ${request.name} (interrupted)` : `Train ${request.name}`,
      state,
      startedAt: savedAt,
      finishedAt: savedAt,
      progress: { task: 'train', phase: 'stopped', done: meta?.position.globalBatch ?? 0, total: 0, message: where },
      error: null,
      result: null,
      epochs: (meta?.history ?? []).map((h) => ({
        epoch: h.epoch,
        epochs: meta!.config.epochs,
        trainLoss: h.trainLoss,
        valLoss: h.valLoss,
        bleu4: h.bleu4,
        ciderD: h.ciderD,
        epsilon: h.epsilon,
        learningRate: h.lr,
        samples: [],
      })),
      lossCurve: (meta?.batchLog ?? []).map((b) => ({ batch: b.batch, loss: b.loss, epsilon: b.epsilon })),
      request: { ...request, runId, resume: false },
    });
  }
  return found.sort((a, b) => b.startedAt - a.startedAt);
}
