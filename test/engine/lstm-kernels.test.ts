/**
 * The fused LSTM backward step and the transpose (engine/kernels/lstm-kernels): the committed bytes are the assembled .wat; a training
 * pass with them (and the products they allow: the gates as [W_x; W_h; b]ᵀ·zᵀ, the image term as (W_vᵀ·vᵀ)ᵀ) gives
 * the same loss and the same gradient bits as with tensor ops — with dropout, scheduled sampling,
 * captions of different lengths (the carried terms cover only the first rows) — and leaks no tensor; where it cannot
 * run (a hidden size not a multiple of 4, the cpu backend) the pass takes the tensor ops.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import { initDecoderWeights, lossAndGradients, disposeDecoderWeights } from '../../src-main/engine/decoder.ts';
import { exampleRngs } from '../../src-main/engine/example-randomness.ts';
import { assembleKernels } from '../../src-main/engine/kernels/build-kernels.ts';
import { lstmKernels } from '../../src-main/engine/kernels/lstm-kernels.ts';
import { LSTM_KERNELS_WASM_BASE64 } from '../../src-main/engine/kernels/lstm-kernels.wasm.ts';
import { DECODER_WEIGHT_NAMES, END, type CaptionBatch, type DecoderConfig } from '../../src-main/engine/model-types.ts';
import { Rng } from '../../src-main/util/rng.ts';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

/** Captions of 2 … T words (so fewer rows run at the later steps), random features. */
function batchOf(cfg: DecoderConfig, B: number, T: number, rng: Rng): CaptionBatch {
  const L = T + 1;
  const tokens = new Int32Array(B * L);
  for (let b = 0; b < B; b++) {
    const words = 2 + (b % (T - 1));
    tokens[b * L] = 1;
    for (let t = 1; t <= words; t++) tokens[b * L + t] = 4 + rng.int(cfg.vocabSize - 4);
    if (words + 1 < L) tokens[b * L + words + 1] = END;
  }
  const features = tf.tensor2d(Float32Array.from({ length: B * cfg.featureDim }, () => rng.next() - 0.5), [B, cfg.featureDim]);
  return { features, tokens, batchSize: B, length: L };
}

function passBits(cfg: DecoderConfig, fusedCell: boolean): { loss: number; grads: Float32Array[] } {
  const rng = new Rng(21);
  const batch = batchOf(cfg, 9, 7, rng);
  const weights = initDecoderWeights(cfg, 4);
  try {
    const pass = lossAndGradients(weights, cfg, batch, { epsilon: 0.5, sampling: 'sample', training: true, rng, rowRngs: exampleRngs(77, 9), fusedCell });
    const grads = DECODER_WEIGHT_NAMES.map((n) => pass.grads[n].dataSync() as Float32Array);
    tf.dispose(Object.values(pass.grads));
    return { loss: pass.loss, grads };
  } finally {
    disposeDecoderWeights(weights);
    batch.features.dispose();
  }
}

const CFG: DecoderConfig = { vocabSize: 60, embedDim: 12, hiddenDim: 20, featureDim: 10, injection: 'every', dropout: 0.3 };

describe('fused LSTM backward step', () => {
  it('the committed module is lstm-kernels.wat assembled (npm run build:kernels)', async () => {
    expect(Buffer.from(await assembleKernels('lstm-kernels')).toString('base64')).toBe(LSTM_KERNELS_WASM_BASE64);
  });

  it('runs on wasm for a hidden size that is a multiple of 4, not otherwise', () => {
    expect(lstmKernels(20)).not.toBeNull();
    expect(lstmKernels(18)).toBeNull();
  });

  it('transposes like tf.transpose, whatever the shape (4×4 blocks and the edges), a block of rows too, leaking nothing', () => {
    const k = lstmKernels(20)!;
    const before = tf.memory().numTensors;
    for (const [rows, cols] of [[1, 1], [3, 5], [4, 4], [8, 12], [9, 14], [13, 7], [64, 769]] as const) {
      tf.tidy(() => {
        const x = tf.tensor2d(Float32Array.from({ length: rows * cols }, (_, i) => i * 0.5 - 3), [rows, cols]);
        const t = k.transpose(x);
        expect(t.shape).toEqual([cols, rows]);
        expect(Array.from(t.dataSync())).toEqual(Array.from(tf.transpose(x).dataSync()));
        // A block of rows, read where it lies (the gates' rows of the stacked product).
        for (const [first, count] of [[0, rows], [rows >> 1, rows - (rows >> 1)], [rows - 1, 1], [0, 0]] as const) {
          const block = k.transposeRows(x, first, count);
          expect(block.shape).toEqual([cols, count]);
          expect(Array.from(block.dataSync())).toEqual(Array.from(tf.transpose(tf.slice(x, [first, 0], [count, cols])).dataSync()));
        }
        expect(() => k.transposeRows(x, rows - 1, 2)).toThrow(/lstm kernel: rows/);
      });
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  for (const injection of ['every', 'init'] as const) {
    it(`gives the same loss and gradient bits as tensor ops, and leaks nothing (injection ${injection})`, () => {
      const cfg = { ...CFG, injection };
      const before = tf.memory().numTensors;
      const fused = passBits(cfg, true);
      const ops = passBits(cfg, false);
      expect(tf.memory().numTensors).toBe(before);
      expect(fused.loss).toBe(ops.loss);
      fused.grads.forEach((g, k) => expect(Array.from(g), DECODER_WEIGHT_NAMES[k]).toEqual(Array.from(ops.grads[k]!)));
      // The gradients are not all zero (the comparison means something).
      expect(fused.grads.every((g) => g.some((x) => x !== 0))).toBe(true);
    });
  }

  it('is not used on the cpu backend, where the pass gives the same result as the tensor ops on wasm', async () => {
    const onWasm = passBits(CFG, false);
    await initBackend({ prefer: 'cpu' });
    try {
      expect(lstmKernels(20)).toBeNull();
      const onCpu = passBits(CFG, true);
      expect(onCpu.loss).toBeCloseTo(onWasm.loss, 5);
    } finally {
      await initBackend({ prefer: 'wasm' });
    }
  });
});
