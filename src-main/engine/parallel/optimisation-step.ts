/**
 * One optimisation step of the trainer, in this thread or over a data-parallel pool: loss and gradients of the
 * mini-batch (every row's randomness keyed by the batch seed and its row, see example-randomness.ts), the global-
 * norm clip, the divergence check and one Adam update. Both paths compute the same thing; the pool only splits the
 * rows across workers and sums their gradients in a fixed order.
 */
import * as tf from '@tensorflow/tfjs';
import { lossAndGradients } from '../decoder.ts';
import { exampleRngs } from '../example-randomness.ts';
import type { CaptionBatch, DecoderConfig, DecoderWeights } from '../model-types.ts';
import { deviceLossAndGradients } from '../decoder-train-device.ts';
import { clipScale, globalNorm, globalNormAsync, type Adam } from '../optimizer.ts';
import { hasSyncReads } from '../webgpu-backend.ts';
import { Rng } from '../../util/rng.ts';
import type { PoolStep, TrainPool } from './train-pool.ts';

export interface StepContext {
  readonly weights: DecoderWeights;
  readonly adam: Adam;
  readonly decoderConfig: DecoderConfig;
  /** Null: compute in this thread. */
  readonly pool: TrainPool | null;
}

export interface StepSettings {
  /** Keys every row's dropout masks, coins and samples. */
  readonly batchSeed: number;
  readonly epsilon: number;
  readonly sampling: 'sample' | 'argmax';
  readonly lr: number;
  readonly clipNorm: number;
  /** Names the step in a divergence error, e.g. "batch 12 (epoch 2)". */
  readonly where: string;
}

/** Runs the step and applies it; throws (applying nothing) when the loss or the gradient norm is not finite. */
export async function optimisationStep(ctx: StepContext, batch: CaptionBatch, s: StepSettings): Promise<PoolStep> {
  if (ctx.pool) {
    // The workers check the step themselves and apply nothing when it diverged.
    const step = await ctx.pool.step(batch, s);
    checkFinite(step.loss, step.gradNorm, s.where);
    return step;
  }
  const opts = {
    epsilon: s.epsilon,
    sampling: s.sampling,
    training: true,
    rng: new Rng(s.batchSeed), // unused: every row has its own generator
    rowRngs: exampleRngs(s.batchSeed, batch.batchSize),
  };
  // Backends without synchronous reads (webgpu) take the device pass, which reads back asynchronously.
  const sync = hasSyncReads();
  const pass = sync ? lossAndGradients(ctx.weights, ctx.decoderConfig, batch, opts) : await deviceLossAndGradients(ctx.weights, ctx.decoderConfig, batch, opts);
  try {
    const norm = sync ? globalNorm(pass.grads) : await globalNormAsync(pass.grads);
    checkFinite(pass.loss, norm, s.where);
    ctx.adam.apply(pass.grads, s.lr, clipScale(norm, s.clipNorm));
    return { loss: pass.loss, tokens: pass.tokens, teacherForcedFraction: pass.teacherForcedFraction, gradNorm: norm };
  } finally {
    tf.dispose(Object.values(pass.grads));
  }
}

function checkFinite(loss: number, norm: number, where: string): void {
  if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
    throw new Error(`train: diverged at ${where}: loss ${loss}, gradient norm ${norm}; lower the learning rate`);
  }
}
