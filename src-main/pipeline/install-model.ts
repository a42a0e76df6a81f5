/**
 * The one way a caption model is installed in a folder, whoever asks: the CLI's `train --out`, the app's training
 * job and the app's model import all end here, in `saveBundle` (which writes the bundle atomically).
 */
import path from 'node:path';
import { loadBundle, readBundleInfo, saveBundle } from '../engine/bundle.ts';
import { disposeCaptionModel, type CaptionModel } from '../engine/caption-model.ts';
import type { WeightStorage } from '../engine/weight-quantize.ts';

export interface InstallOptions {
  /** How the installed bundle stores its weights (default float32). */
  readonly weights?: WeightStorage;
}

/** Writes `model` as the bundle in `dir`. */
export async function installModel(dir: string, model: CaptionModel, opts: InstallOptions = {}): Promise<void> {
  await saveBundle(dir, model, { ...(opts.weights ? { weights: opts.weights } : {}) });
}

/**
 * Installs a copy of the bundle in `source` into `dir`: it must load (its weights checked against their SHA-256),
 * and keeps its weight storage and metadata.
 */
export async function importModel(source: string, dir: string): Promise<void> {
  const from = path.resolve(source);
  const info = await readBundleInfo(from);
  const model = await loadBundle(from);
  try {
    await installModel(dir, model, { weights: info.weightStorage });
  } finally {
    disposeCaptionModel(model);
  }
}
