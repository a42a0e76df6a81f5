/**
 * explainFromMap against known answers on the hand-built toy model (test/engine/toy-caption-model.ts), whose
 * image feature [1, 0] opens the input, candidate and output gates of hidden unit 0 (which writes "cat") and
 * leaves unit 1 at σ(0) = 0.5 gates and zero cell.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import { disposeCaptionModel, type CaptionModel } from '../../src-main/engine/caption-model.ts';
import { explainFromMap, massInside } from '../../src-main/engine/explain.ts';
import { unitMeanings } from '../../src-main/engine/explain-units.ts';
import { TOY_ENCODER, toyCaptionModel, toyLogProbs } from './toy-caption-model.ts';

const sig = (x: number): number => 1 / (1 + Math.exp(-x));
let model: CaptionModel;

/** A [1, 2, 2, 2] map from four cells' (feature 0, feature 1) values, row-major. */
function mapOf(cells: readonly [number, number][]): tf.Tensor4D {
  return tf.tensor4d(cells.flat(), [1, 2, 2, 2]);
}

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  model = toyCaptionModel();
});

afterAll(() => disposeCaptionModel(model));

describe('explainFromMap', () => {
  it('gives the word probability, alternatives, gate means, cell change and top units the toy model implies', () => {
    const map = mapOf([[2, 0], [0, 0], [2, 0], [0, 0]]); // mean [1, 0]: a "cat" image
    try {
      const e = explainFromMap(model, TOY_ENCODER, map, ['cat', 'cat']);
      expect(e.method).toBe('grad-cam');
      expect(e.caption).toBe('cat cat');
      expect(e.words).toHaveLength(2);
      const V = model.vocab.size;
      for (const [k, w] of e.words.entries()) {
        const logProbs = toyLogProbs(k + 1, V);
        expect(w.index).toBe(k);
        expect(w.word).toBe('cat');
        expect(w.probability).toBeCloseTo(Math.exp(logProbs[model.vocab.id('cat')]!), 5);
        // Alternatives: every token a caption may hold (the toy has 4: <end>, <unk>, cat, dog) by probability;
        // "cat" first, then <end> (logit 3), then the rest (logit 0).
        expect(w.alternatives).toHaveLength(4);
        expect(w.alternatives.map((a) => a.word).slice(0, 2)).toEqual(['cat', '<end>']);
        expect(w.alternatives.map((a) => a.word)).not.toContain('<pad>');
        expect(w.alternatives.map((a) => a.word)).not.toContain('<start>');
        expect(w.alternatives[1]!.probability).toBeCloseTo(Math.exp(logProbs[2]!), 5);
        const probs = w.alternatives.map((a) => a.probability);
        expect([...probs].sort((a, b) => b - a)).toEqual(probs);
        // Unit 0's i and o are σ(10), unit 1's σ(0); every forget gate σ(0).
        expect(w.gates.input).toBeCloseTo((sig(10) + 0.5) / 2, 5);
        expect(w.gates.output).toBeCloseTo((sig(10) + 0.5) / 2, 5);
        expect(w.gates.forget).toBeCloseTo(0.5, 5);
        expect(w.topUnits[0]!.unit).toBe(0);
        expect(w.topUnits).toHaveLength(2);
      }
      // c_1 = σ(10)·tanh(10) on unit 0 (unit 1 stays 0); c_2 = 0.5·c_1 + c_1, so |Δc| = c_1 / 2 at step 2 as well.
      const c1 = sig(10) * Math.tanh(10);
      expect(e.words[0]!.gates.cellChange).toBeCloseTo(c1 / 2, 5);
      expect(e.words[1]!.gates.cellChange).toBeCloseTo((0.5 * c1) / 2, 5);
      expect(e.words[0]!.topUnits[0]!.activation).toBeCloseTo(sig(10) * Math.tanh(c1), 5);
      expect(e.endProbability).toBeCloseTo(Math.exp(toyLogProbs(3, V)[2]!), 5);
    } finally {
      map.dispose();
    }
  });

  it('Grad-CAM: ReLU of the map weighted by the gradient of log p(word), checked against finite differences', () => {
    const cells: [number, number][] = [[2, 0], [1, 0], [0, 1], [1, -1]]; // mean [1, 0]
    const map = mapOf(cells);
    try {
      const e = explainFromMap(model, TOY_ENCODER, map, ['cat']);
      const heat = e.words[0]!.heatmap;
      expect([heat.width, heat.height]).toEqual([2, 2]);
      // ∂ log p(cat) / ∂v_c by central differences: shift every cell's channel c by δ (the mean moves by δ).
      const delta = 1e-2;
      const logP = (shift: [number, number]): number => {
        const m = mapOf(cells.map(([a, b]) => [a + shift[0], b + shift[1]]));
        try {
          return Math.log(explainFromMap(model, TOY_ENCODER, m, ['cat']).words[0]!.probability);
        } finally {
          m.dispose();
        }
      };
      const g0 = (logP([delta, 0]) - logP([-delta, 0])) / (2 * delta);
      const g1 = (logP([0, delta]) - logP([0, -delta])) / (2 * delta);
      expect(g0).toBeGreaterThan(0); // feature 0 says "cat"
      expect(g1).toBeLessThan(0); // feature 1 says "dog"
      const raw = cells.map(([a, b]) => Math.max(0, g0 * a + g1 * b));
      const max = Math.max(...raw);
      heat.values.forEach((v, k) => expect(v).toBeCloseTo(raw[k]! / max, 2));
      expect(heat.values[2]).toBe(0); // the "dog" cell does not help "cat"
      expect(heat.values[0]).toBeLessThan(heat.values[3]!); // [1, −1] beats [2, 0]: it also lowers "dog"
    } finally {
      map.dispose();
    }
  });

  it('leaves no tensors behind and refuses a map of the wrong depth or encoder', () => {
    const map = mapOf([[2, 0], [0, 0], [2, 0], [0, 0]]);
    try {
      explainFromMap(model, TOY_ENCODER, map, ['cat']); // warm-up
      const before = tf.memory().numTensors;
      for (let k = 0; k < 3; k++) explainFromMap(model, TOY_ENCODER, map, ['cat', 'dog', 'cat']);
      expect(tf.memory().numTensors).toBe(before);
      expect(() => explainFromMap(model, 'other-encoder', map, ['cat'])).toThrow(/expects encoder toy-encoder-2d/);
      const deep = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
      expect(() => explainFromMap(model, TOY_ENCODER, deep, ['cat'])).toThrow(/expects \[1, h, w, 2\]/);
      deep.dispose();
      expect(() => explainFromMap(model, TOY_ENCODER, map, [])).toThrow(/no words/);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      map.dispose();
    }
  });

  it('massInside counts each cell by the part of it inside the box', () => {
    const heat = { width: 2, height: 2, values: [1, 0, 0, 1] };
    expect(massInside(heat, { x0: 0, y0: 0, x1: 0.5, y1: 0.5 })).toBeCloseTo(0.5);
    expect(massInside(heat, { x0: 0, y0: 0, x1: 0.25, y1: 0.5 })).toBeCloseTo(0.25);
    expect(massInside(heat, { x0: -1, y0: -1, x1: 2, y1: 2 })).toBeCloseTo(1);
    expect(massInside({ width: 1, height: 1, values: [0] }, { x0: 0, y0: 0, x1: 1, y1: 1 })).toBe(0);
  });

  it('unit meanings: each unit\'s mean h per word written, teacher-forced, leak-free', () => {
    const before = tf.memory().numTensors;
    const cat = Float32Array.from([1, 0]);
    const dog = Float32Array.from([0, 1]);
    const meanings = unitMeanings(model, [{ features: cat, captions: [['cat'], ['cat', 'cat']] }, { features: dog, captions: [['dog']] }], {
      encoderId: TOY_ENCODER,
      minCount: 1,
      top: 5,
      batchSize: 2,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(meanings.captions).toBe(3);
    expect(meanings.units).toHaveLength(2);
    // Unit 0 is on while "cat" is written: h = σ(10)·tanh(c_t); "cat" was written at steps 1, 1 and 2.
    const c1 = sig(10) * Math.tanh(10);
    const h = (c: number): number => sig(10) * Math.tanh(c);
    const catMean = (2 * h(c1) + h(1.5 * c1)) / 3;
    const [unit0, unit1] = meanings.units;
    expect(unit0!.words[0]!.word).toBe('cat');
    expect(unit0!.words[0]!.count).toBe(3);
    expect(unit0!.words[0]!.activation).toBeCloseTo(catMean, 5);
    expect(unit1!.words[0]!.word).toBe('dog');
    expect(unit1!.words[0]!.activation).toBeCloseTo(h(c1), 5);
    // The words written: cat, dog and <end> (after each of the 3 captions); never <unk>.
    expect(unit0!.words.map((w) => w.word).sort()).toEqual(['<end>', 'cat', 'dog']);
    expect(unit0!.words.find((w) => w.word === '<end>')!.count).toBe(3);
    expect(unitMeanings(model, [{ features: cat, captions: [['cat']] }], { encoderId: TOY_ENCODER }).units[0]!.words).toEqual([]); // min count 3
  });
});
