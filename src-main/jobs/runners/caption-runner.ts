/**
 * The caption job: the shared pipeline (pipeline/caption-images: decode → encode with ImageNet tags → beam
 * search) over the files, one CaptionItem streamed per image as its chunk finishes. A file that cannot be read
 * becomes an inline error item; the others go on. Pause and cancel apply between chunks. On the wasm backend the
 * images are encoded and captioned on one worker thread per core, started for the job and stopped when it ends.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { CaptionItem, JobResult } from '../../contract/types.ts';
import { captionImages } from '../../pipeline/caption-images.ts';
import type { EngineCache } from '../engine-cache.ts';
import type { CaptionJobParams } from '../job-types.ts';
import type { JobContext } from './job-context.ts';

/** Images per chunk: small, so the first cards appear quickly. */
const CHUNK = 8;
/** Captions shown per image: the best and this many − 1 alternatives. */
const TOP_N = 3;
const TAGS = 5;

export async function runCaptionJob(params: CaptionJobParams, ctx: JobContext, engine: EngineCache): Promise<JobResult> {
  const total = params.paths.length;
  ctx.update({ type: 'progress', progress: { task: 'caption', done: 0, total, message: 'loading the model' } });
  const model = await engine.model(params.modelDir);
  const encoder = await engine.encoder(model.encoderId);
  let failed = 0;
  let done = 0;
  const results = captionImages(params.paths, {
    model,
    encoder,
    tags: TAGS,
    chunkSize: CHUNK,
    workers: params.workers ?? availableParallelism(),
    caption: { beamSize: Math.max(params.beamSize, TOP_N), topN: TOP_N, maxLength: params.maxLength },
    checkpoint: () => ctx.gate.checkpoint(),
    onProgress: (progress) => ctx.update({ type: 'progress', progress }),
    onWarning: (message) => ctx.update({ type: 'progress', progress: { task: 'caption', done, total, message } }),
  });
  for await (const r of results) {
    const name = path.basename(r.path);
    let item: CaptionItem;
    if (r.ok) {
      item = {
        ok: true,
        path: r.path,
        name,
        caption: r.caption,
        score: r.score,
        alternatives: r.alternatives.map((a) => ({ caption: a.caption, score: a.score })),
        tags: r.tags.map((t) => ({ label: t.label, probability: t.score })),
        modelId: params.modelId,
      };
    } else {
      failed++;
      item = { ok: false, path: r.path, name, error: r.error };
    }
    done++;
    ctx.update({ type: 'caption', item });
  }
  return { kind: 'caption', captioned: done - failed, failed };
}
