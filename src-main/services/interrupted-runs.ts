/**
 * Training runs that outlived their session: each run folder keeps the request that started it
 * (`request.json`), so that a run whose app or server was closed mid-training — its last checkpoint not marked
 * finished — is listed again at the next start, as a cancelled job that "Resume from checkpoint" continues.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RequestOf } from '../contract/schemas.ts';
import { parseRequest } from '../contract/schemas.ts';
import type { JobSummary } from '../contract/types.ts';
import { readCheckpointMeta } from '../engine/checkpoint.ts';
import { recoverRun, runPaths } from '../engine/train.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

/** The file in a run folder holding the request that started the run. */
export const RUN_REQUEST_FILE = 'request.json';

/** Keeps the request of a run (with its id, as a fresh start) in its folder. */
export async function saveRunRequest(runDir: string, request: RequestOf<'train.start'>): Promise<void> {
  await writeFileAtomic(path.join(runDir, RUN_REQUEST_FILE), `${JSON.stringify({ ...request, resume: false }, null, 2)}\n`);
}

/**
 * The unfinished runs under `runsDir`, newest first, as cancelled train jobs with their epochs and loss curve so
 * far. Folders without a valid request or checkpoint are passed over.
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
    if (!checkpoint || checkpoint.meta.finished) continue;
    const { meta } = checkpoint;
    const savedAt = Date.parse(checkpoint.savedAt) || 0;
    found.push({
      id: `run-${runId}`,
      kind: 'train',
      title: `Train ${request.name} (interrupted)`,
      state: 'cancelled',
      startedAt: savedAt,
      finishedAt: savedAt,
      progress: null,
      error: null,
      result: null,
      epochs: meta.history.map((h) => ({
        epoch: h.epoch,
        epochs: meta.config.epochs,
        trainLoss: h.trainLoss,
        valLoss: h.valLoss,
        bleu4: h.bleu4,
        ciderD: h.ciderD,
        epsilon: h.epsilon,
        learningRate: h.lr,
        samples: [],
      })),
      lossCurve: meta.batchLog.map((b) => ({ batch: b.batch, loss: b.loss, epsilon: b.epsilon })),
      request: { ...request, runId, resume: false },
    });
  }
  return found.sort((a, b) => b.startedAt - a.startedAt);
}
