/**
 * The export job: caption every image of a folder or dataset with the chosen model and write a CSV atomically
 * (one row per image: id, path, caption, score, and the dataset's reference captions when asked). Unreadable
 * images are counted and left out.
 */
import { stringify } from 'csv-stringify/sync';
import type { JobResult } from '../../contract/types.ts';
import { loadDataset, type DatasetFormat } from '../../data/dataset.ts';
import { loadImages } from '../../data/images.ts';
import { captionFeatures } from '../../engine/captioner.ts';
import { writeFileAtomic } from '../../util/atomic-write.ts';
import { RateMeter } from '../../util/progress.ts';
import type { EngineCache } from '../engine-cache.ts';
import type { ExportJobParams } from '../job-types.ts';
import type { JobContext } from './job-context.ts';

const CHUNK = 16;

export async function runExportJob(params: ExportJobParams, ctx: JobContext, engine: EngineCache): Promise<JobResult> {
  const format = params.source.format && params.source.format !== 'auto' ? (params.source.format as DatasetFormat) : 'auto';
  const dataset = await loadDataset(params.source.path, { format, ...(params.source.imagesDir ? { imagesDir: params.source.imagesDir } : {}) });
  const model = await engine.model(params.modelDir);
  const encoder = await engine.encoder(model.encoderId);
  const items = dataset.items;
  const maxRefs = params.includeReferences ? Math.max(0, ...items.map((i) => i.captions.length)) : 0;
  const header = ['image', 'path', 'caption', 'score', ...Array.from({ length: maxRefs }, (_, i) => `reference_${i + 1}`)];
  const rows: string[][] = [];
  const meter = new RateMeter();
  let failed = 0;
  for (let start = 0; start < items.length; start += CHUNK) {
    ctx.gate.checkpoint();
    const chunk = items.slice(start, start + CHUNK);
    const loaded = await loadImages(
      chunk.map((i) => i.imagePath),
      { concurrency: 4 },
    );
    const good = loaded.flatMap((r, k) => (r.ok ? [{ item: chunk[k]!, pixels: r.image.pixels }] : []));
    failed += loaded.length - good.length;
    if (good.length) {
      const { features } = await encoder.encode(
        good.map((g) => g.pixels),
        { topK: 0 },
      );
      const captions = captionFeatures(model, features, { encoderId: encoder.id, beamSize: params.beamSize, maxLength: params.maxLength });
      good.forEach((g, k) => {
        const c = captions[k]!;
        const refs = params.includeReferences ? [...g.item.captions, ...new Array<string>(maxRefs - g.item.captions.length).fill('')] : [];
        rows.push([g.item.id, g.item.imagePath, c.caption, c.score.toFixed(4), ...refs]);
      });
    }
    const done = Math.min(items.length, start + CHUNK);
    const { rate, eta } = meter.update(done);
    ctx.update({ type: 'progress', progress: { task: 'export', done, total: items.length, rate, etaSeconds: eta(items.length) } });
  }
  await writeFileAtomic(params.outPath, stringify([header, ...rows]));
  return { kind: 'export', outPath: params.outPath, rows: rows.length, failed };
}
