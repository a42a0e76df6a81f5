import { describe, expect, it } from 'vitest';
import { evaluateCaptions } from '../../../src-main/engine/metrics/evaluate.ts';

describe('evaluateCaptions', () => {
  it('tokenises raw strings and scores a perfect set', () => {
    const refs = new Map([
      ['1', ['A dog runs on the grass.', 'A brown dog is running.']],
      ['2', ['Two cats sleep on a red sofa!', 'Cats sleeping.']],
    ]);
    const hyps = new Map([
      ['1', 'a DOG runs, on the grass'],
      ['2', 'Two cats sleep on a red sofa'],
    ]);
    const scores = evaluateCaptions(refs, hyps);
    expect(scores.bleu1).toBeCloseTo(1, 8);
    expect(scores.bleu4).toBeCloseTo(1, 8);
    expect(scores.rougeL).toBeCloseTo(1, 12);
    expect(scores.ciderD).toBeGreaterThan(3);
    expect(Object.keys(scores).sort()).toEqual(['bleu1', 'bleu2', 'bleu3', 'bleu4', 'ciderD', 'rougeL']);
  });

  it('equals the tokenised hand-worked BLEU/ROUGE values', () => {
    const scores = evaluateCaptions(
      new Map([['x', ['The cat is on the mat.', 'There is a cat on the mat.']]]),
      new Map([['x', 'The cat sat on the mat.']]),
    );
    expect(scores.bleu1).toBeCloseTo(5 / 6, 8);
    expect(scores.bleu3).toBeCloseTo(0.5, 8);
    expect(scores.rougeL).toBeCloseTo(5 / 6, 12);
    expect(scores.ciderD).toBe(0); // one image: log N = 0
  });

  it('ignores references of images without a hypothesis, rejects hypotheses without references', () => {
    const refs = new Map([
      ['1', ['a b c d']],
      ['2', ['e f g h']],
      ['3', ['a b c d']],
    ]);
    // Only images 1 and 2 are evaluated: N = 2 and "a b c d" has df 1, so the exact caption scores 10.
    expect(evaluateCaptions(refs, new Map([['1', 'a b c d'], ['2', 'e f g h']])).ciderD).toBeCloseTo(10, 12);
    expect(() => evaluateCaptions(refs, new Map([['9', 'a']]))).toThrow(/^evaluateCaptions: no reference captions for image "9"$/);
    expect(() => evaluateCaptions(refs, new Map())).toThrow(/no hypotheses/);
  });
});
