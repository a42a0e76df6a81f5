/**
 * The asynchronous decoders (decode.ts `…Async`, driven by the step model's `stepAsync`, which awaits one read per
 * time step) give exactly the synchronous decoders' captions, and free every state on success and on failure.
 * Here on wasm; on webgpu (no synchronous reads) in webgpu.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import { captionFeatures, captionFeaturesAsync, disposeCaptionModel } from '../../src-main/engine/captioner.ts';
import { beamSearch, beamSearchAsync, greedyDecode, greedyDecodeAsync, sampleDecode, sampleDecodeAsync } from '../../src-main/engine/decode.ts';
import { createStepModel, disposeDecoderWeights, initDecoderWeights, type LstmState } from '../../src-main/engine/decoder.ts';
import type { DecoderConfig, StepModel } from '../../src-main/engine/model-types.ts';
import { Rng } from '../../src-main/util/rng.ts';
import { TOY_ENCODER, toyCaptionModel } from './toy-caption-model.ts';

const CFG: DecoderConfig = { vocabSize: 17, embedDim: 5, hiddenDim: 6, featureDim: 4, injection: 'every', dropout: 0 };

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

function features(rows: number): tf.Tensor2D {
  const rng = new Rng(9);
  return tf.tensor2d(Float32Array.from({ length: rows * CFG.featureDim }, () => rng.next() * 4 - 2), [rows, CFG.featureDim]);
}

describe('asynchronous decoding', () => {
  it('greedy, beam 3 (top 3) and sampling equal the synchronous decoders, with no tensor left behind', async () => {
    const w = initDecoderWeights(CFG, 21);
    const feats = features(3);
    const model = createStepModel(w, CFG, feats);
    const options = { maxLength: 6, blockRepeatedNgram: 2 };
    const before = tf.memory().numTensors;
    expect(await greedyDecodeAsync(model, options)).toEqual(greedyDecode(model, options));
    const beams = beamSearch(model, { ...options, beamSize: 3, topN: 3 });
    expect(await beamSearchAsync(model, { ...options, beamSize: 3, topN: 3 })).toEqual(beams);
    expect(beams.every((row) => row.length === 3)).toBe(true);
    const sampled = sampleDecode(model, { ...options, rng: new Rng(4), samples: 2 });
    expect(await sampleDecodeAsync(model, { ...options, rng: new Rng(4), samples: 2 })).toEqual(sampled);
    expect(tf.memory().numTensors).toBe(before);
    feats.dispose();
    disposeDecoderWeights(w);
  });

  it('a step that fails frees the decoding state and rejects with its error; a model without stepAsync is refused', async () => {
    const w = initDecoderWeights(CFG, 21);
    const feats = features(2);
    const inner = createStepModel(w, CFG, feats);
    let calls = 0;
    const failing: StepModel<LstmState> = {
      ...inner,
      stepAsync: async (tokens, state) => {
        if (++calls === 3) throw new Error('device lost');
        return inner.stepAsync!(tokens, state);
      },
    };
    const before = tf.memory().numTensors;
    await expect(beamSearchAsync(failing, { beamSize: 3, maxLength: 6 })).rejects.toThrow('device lost');
    expect(calls).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
    const { stepAsync: _unused, ...syncOnly } = inner;
    await expect(greedyDecodeAsync(syncOnly)).rejects.toThrow('no asynchronous step');
    expect(tf.memory().numTensors).toBe(before);
    feats.dispose();
    disposeDecoderWeights(w);
  });

  it('captionFeaturesAsync captions the known toy images ("cat", "dog" with 1-gram blocking) as captionFeatures does', async () => {
    const model = toyCaptionModel();
    const rows = [Float32Array.of(1, 0), Float32Array.of(0, 1)];
    const options = { encoderId: TOY_ENCODER, method: 'beam' as const, beamSize: 3, topN: 2, blockRepeatedNgram: 1 };
    const sync = captionFeatures(model, rows, options);
    const async = await captionFeaturesAsync(model, rows, options);
    expect(async).toEqual(sync);
    expect(async.map((r) => r.caption)).toEqual(['cat', 'dog']);
    disposeCaptionModel(model);
  });
});
