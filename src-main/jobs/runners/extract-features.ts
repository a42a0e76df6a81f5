/**
 * Image features for a list of files, in chunks, with progress and the pause/cancel gate between chunks. Files
 * that cannot be read are reported and left out (their index maps to null).
 */
import { loadImages } from '../../data/images.ts';
import type { ImageEncoder } from '../../engine/encoder.ts';
import { RateMeter } from '../../util/progress.ts';
import type { JobContext } from './job-context.ts';

const CHUNK = 16;

/** One feature vector per path, or null for a file that failed (with the reason in `failures`). */
export async function extractFeatures(
  paths: readonly string[],
  encoder: ImageEncoder,
  ctx: JobContext,
  task: string,
): Promise<{ features: (Float32Array | null)[]; failures: { path: string; reason: string }[] }> {
  const features: (Float32Array | null)[] = new Array<Float32Array | null>(paths.length).fill(null);
  const failures: { path: string; reason: string }[] = [];
  const meter = new RateMeter();
  for (let start = 0; start < paths.length; start += CHUNK) {
    ctx.gate.checkpoint();
    const chunk = paths.slice(start, start + CHUNK);
    const loaded = await loadImages(chunk, { concurrency: 4 });
    const good = loaded.flatMap((r, i) => (r.ok ? [{ i: start + i, pixels: r.image.pixels }] : []));
    for (const r of loaded) if (!r.ok) failures.push({ path: r.path, reason: r.error.reason });
    if (good.length) {
      const encoded = await encoder.encode(
        good.map((g) => g.pixels),
        { topK: 0 },
      );
      good.forEach((g, k) => (features[g.i] = encoded.features[k]!));
    }
    const done = Math.min(paths.length, start + CHUNK);
    const { rate, eta } = meter.update(done);
    ctx.update({ type: 'progress', progress: { task, phase: 'extract features', done, total: paths.length, rate, etaSeconds: eta(paths.length) } });
  }
  return { features, failures };
}
