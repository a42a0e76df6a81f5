/**
 * The explain call in the inference worker: the model and its encoder from the worker's cache, the model folder's
 * unit meanings when `caption-studio units` saved some, and the shared use case (pipeline/explain-image.ts).
 */
import type { CaptionExplanationView } from '../../contract/types.ts';
import { loadUnitMeanings } from '../../engine/explain-units.ts';
import { explainImage } from '../../pipeline/explain-image.ts';
import type { EngineCache } from '../engine-cache.ts';
import type { ExplainParams } from '../job-types.ts';

export async function runExplain(params: ExplainParams, engine: EngineCache): Promise<CaptionExplanationView> {
  const model = await engine.model(params.modelDir);
  const encoder = await engine.encoder(model.encoderId);
  const units = await loadUnitMeanings(params.modelDir, model);
  const explained = await explainImage(params.path, {
    model,
    encoder,
    ...(params.caption ? { caption: params.caption } : {}),
    decode: { beamSize: params.beamSize, maxLength: params.maxLength },
    units,
  });
  return { ...explained, unitMeanings: units !== null };
}
