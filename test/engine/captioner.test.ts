import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import { captionFeatures, disposeCaptionModel, type CaptionModel } from '../../src-main/engine/captioner.ts';
import { TOY_ENCODER, toyCaptionModel, toyLogProbs } from './toy-caption-model.ts';

let model: CaptionModel;
const CAT = new Float32Array([1, 0]);
const DOG = new Float32Array([0, 1]);

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  model = toyCaptionModel();
});
afterAll(() => disposeCaptionModel(model));

describe('captionFeatures', () => {
  it('gives the known captions and log-probabilities of the hand-built model', () => {
    const V = model.config.vocabSize;
    const [cat, dog] = captionFeatures(model, [CAT, DOG], { encoderId: TOY_ENCODER, method: 'greedy', blockRepeatedNgram: 1 });
    // "cat" is banned after its first use (1-gram blocking), so <end> (logit 3) beats "dog" (logit 0).
    expect(cat!.caption).toBe('cat');
    expect(dog!.caption).toBe('dog');
    expect(cat!.words).toEqual(['cat']);
    const logProb = toyLogProbs(1, V)[4]! + toyLogProbs(2, V)[2]!;
    expect(cat!.logProb).toBeCloseTo(logProb, 4);
    expect(cat!.score).toBeCloseTo(logProb / 2, 4); // two emitted tokens: "cat" and <end>
    expect(dog!.logProb).toBeCloseTo(logProb, 4);
    expect(cat!.alternatives).toEqual([]);
  });

  it('blocks repeated bigrams by default and stops at maxLength', () => {
    // Default blocking (n = 2): "cat cat" is allowed, a third "cat" would repeat the bigram "cat cat".
    const [r] = captionFeatures(model, [CAT], { encoderId: TOY_ENCODER, method: 'greedy', maxLength: 10 });
    expect(r!.caption).toBe('cat cat');
    const [short] = captionFeatures(model, [CAT], { encoderId: TOY_ENCODER, method: 'greedy', maxLength: 1 });
    expect(short!.caption).toBe('cat');
    const [unblocked] = captionFeatures(model, [CAT], { encoderId: TOY_ENCODER, method: 'greedy', maxLength: 4, blockRepeatedNgram: 0 });
    expect(unblocked!.caption).toBe('cat cat cat cat');
  });

  it('beam search: beam 1 equals greedy, topN alternatives come best first', () => {
    const feats = [CAT, DOG, CAT];
    const greedy = captionFeatures(model, feats, { encoderId: TOY_ENCODER, method: 'greedy' });
    const beam1 = captionFeatures(model, feats, { encoderId: TOY_ENCODER, method: 'beam', beamSize: 1 });
    expect(beam1.map((r) => r.caption)).toEqual(greedy.map((r) => r.caption));
    const beam = captionFeatures(model, feats, { encoderId: TOY_ENCODER, beamSize: 4, topN: 3 });
    for (const r of beam) {
      expect(r.alternatives).toHaveLength(2);
      const scores = [r.score, ...r.alternatives.map((a) => a.score)];
      expect([...scores].sort((a, b) => b - a)).toEqual(scores);
      expect(new Set([r.caption, ...r.alternatives.map((a) => a.caption)]).size).toBe(3);
    }
  });

  it('gives the same results for a tensor, for Float32Arrays and in chunks of one', () => {
    const feats = [CAT, DOG, DOG, CAT];
    const tensor = tf.tensor2d([1, 0, 0, 1, 0, 1, 1, 0], [4, 2]);
    const a = captionFeatures(model, tensor, { encoderId: TOY_ENCODER, topN: 2 });
    const b = captionFeatures(model, feats, { encoderId: TOY_ENCODER, topN: 2, chunkSize: 1 });
    expect(b).toEqual(a);
    expect(a.map((r) => r.caption)).toEqual(['cat cat', 'dog dog', 'dog dog', 'cat cat']);
    expect(tensor.isDisposed).toBe(false); // the caller's tensor is left alone
    tensor.dispose();
  });

  it('samples reproducibly with a seed', () => {
    const opts = { encoderId: TOY_ENCODER, method: 'sample' as const, seed: 5, topN: 2 };
    const a = captionFeatures(model, [CAT, DOG], opts);
    expect(captionFeatures(model, [CAT, DOG], opts)).toEqual(a);
    expect(a[0]!.alternatives).toHaveLength(1);
  });

  it('refuses features of another encoder or size with a clear error', () => {
    expect(() => captionFeatures(model, [CAT], { encoderId: 'mobilenet_v1_0.25_224' })).toThrow(
      'model toy expects encoder toy-encoder-2d, features come from mobilenet_v1_0.25_224',
    );
    expect(() => captionFeatures(model, [new Float32Array(3)], { encoderId: TOY_ENCODER })).toThrow(
      'captionFeatures: features[0] has 3 values, model toy expects 2',
    );
  });

  it('leaks no tensors over 20 caption calls', () => {
    captionFeatures(model, [CAT], { encoderId: TOY_ENCODER }); // warm-up
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      captionFeatures(model, [CAT, DOG], { encoderId: TOY_ENCODER, method: (['beam', 'greedy', 'sample'] as const)[i % 3], topN: 2 });
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
