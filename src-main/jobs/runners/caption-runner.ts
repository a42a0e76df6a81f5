/**
 * The caption job: images → (data/images) pixels → (engine/encoder) features and ImageNet tags →
 * (engine/captioner) beam search → one CaptionItem per image, streamed as it is done. A file that cannot be read
 * becomes an inline error item; the others go on.
 */
import path from 'node:path';
import type { CaptionItem, JobResult } from '../../contract/types.ts';
import { loadImages } from '../../data/images.ts';
import { captionFeatures } from '../../engine/captioner.ts';
import { RateMeter } from '../../util/progress.ts';
import type { EngineCache } from '../engine-cache.ts';
import type { CaptionJobParams } from '../job-types.ts';
import type { JobContext } from './job-context.ts';

/** Images read and encoded together. */
const CHUNK = 8;
/** Captions shown per image: the best and this many − 1 alternatives. */
const TOP_N = 3;
const TAGS = 5;

export async function runCaptionJob(params: CaptionJobParams, ctx: JobContext, engine: EngineCache): Promise<JobResult> {
  const model = await engine.model(params.modelDir);
  const encoder = await engine.encoder(model.encoderId);
  const total = params.paths.length;
  const meter = new RateMeter();
  let done = 0;
  let failed = 0;
  ctx.update({ type: 'progress', progress: { task: 'caption', done: 0, total, message: 'loading images' } });
  for (let start = 0; start < total; start += CHUNK) {
    ctx.gate.checkpoint();
    const chunk = params.paths.slice(start, start + CHUNK);
    const loaded = await loadImages(chunk, { concurrency: 4 });
    const good = loaded.flatMap((r) => (r.ok ? [r] : []));
    const encoded = good.length ? await encoder.encode(good.map((r) => r.image.pixels), { topK: TAGS }) : { features: [], tags: [] };
    const captions = good.length
      ? captionFeatures(model, encoded.features, { encoderId: encoder.id, beamSize: Math.max(params.beamSize, TOP_N), topN: TOP_N, maxLength: params.maxLength })
      : [];
    let g = 0;
    for (const r of loaded) {
      const name = path.basename(r.path);
      let item: CaptionItem;
      if (r.ok) {
        const c = captions[g]!;
        const tags = encoded.tags[g]!;
        g++;
        item = {
          ok: true,
          path: r.path,
          name,
          caption: c.caption,
          score: c.score,
          alternatives: c.alternatives.map((a) => ({ caption: a.caption, score: a.score })),
          tags: tags.map((t) => ({ label: t.label, probability: t.score })),
          modelId: params.modelId,
        };
      } else {
        failed++;
        item = { ok: false, path: r.path, name, error: r.error.reason };
      }
      done++;
      ctx.update({ type: 'caption', item });
    }
    const { rate, eta } = meter.update(done);
    ctx.update({ type: 'progress', progress: { task: 'caption', done, total, rate, etaSeconds: eta(total) } });
  }
  return { kind: 'caption', captioned: done - failed, failed };
}
