/**
 * Golden answers from the COCO caption toolkit (pycocoevalcap): BLEU-1..4, ROUGE-L and CIDEr-D of 32
 * candidate/reference sets, and the toolkit's PTB tokenization of every sentence. How the fixture was made is in
 * fixtures/README.md.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { corpusBleu } from '../../../src-main/engine/metrics/bleu.ts';
import { ciderD } from '../../../src-main/engine/metrics/cider.ts';
import { evaluateCaptions } from '../../../src-main/engine/metrics/evaluate.ts';
import { rougeL } from '../../../src-main/engine/metrics/rouge.ts';
import type { CaptionPair } from '../../../src-main/engine/metrics/types.ts';
import { tokenize } from '../../../src-main/text/tokenize.ts';

interface GoldenSet {
  readonly id: string;
  readonly candidate: string;
  readonly references: readonly string[];
  readonly candidateTokens: string;
  readonly referenceTokens: readonly string[];
  readonly ciderD: number;
  readonly rougeL: number;
}
interface Golden {
  readonly expected: { bleu1: number; bleu2: number; bleu3: number; bleu4: number; rougeL: number; ciderD: number };
  readonly sets: readonly GoldenSet[];
}

const golden = JSON.parse(readFileSync(new URL('./fixtures/coco-golden.json', import.meta.url), 'utf8')) as Golden;
/** The toolkit's tokens (already tokenised strings are split on spaces, as its scorers do). */
const pairs: CaptionPair[] = golden.sets.map((s) => ({ hyp: s.candidateTokens.split(' '), refs: s.referenceTokens.map((r) => r.split(' ')) }));
const TOLERANCE = 1e-4;

describe('metrics against the COCO caption toolkit', () => {
  it('the fixture is the size the README says', () => {
    expect(golden.sets).toHaveLength(32);
  });

  it('BLEU-1..4 (closest reference length) match', () => {
    const [b1, b2, b3, b4] = corpusBleu(pairs, 4);
    const e = golden.expected;
    expect(Math.abs(b1! - e.bleu1)).toBeLessThan(TOLERANCE);
    expect(Math.abs(b2! - e.bleu2)).toBeLessThan(TOLERANCE);
    expect(Math.abs(b3! - e.bleu3)).toBeLessThan(TOLERANCE);
    expect(Math.abs(b4! - e.bleu4)).toBeLessThan(TOLERANCE);
  });

  it('ROUGE-L matches, image by image and over the corpus', () => {
    const r = rougeL(pairs);
    expect(Math.abs(r.score - golden.expected.rougeL)).toBeLessThan(TOLERANCE);
    r.perItem.forEach((score, i) => expect(Math.abs(score - golden.sets[i]!.rougeL), golden.sets[i]!.id).toBeLessThan(TOLERANCE));
  });

  it('CIDEr-D matches, image by image and over the corpus', () => {
    const c = ciderD(pairs);
    expect(Math.abs(c.score - golden.expected.ciderD)).toBeLessThan(TOLERANCE);
    c.perItem.forEach((score, i) => expect(Math.abs(score - golden.sets[i]!.ciderD), golden.sets[i]!.id).toBeLessThan(TOLERANCE));
  });

  it('our tokenizer gives the toolkit PTB tokens (lower case, clitics split, punctuation dropped) for every sentence', () => {
    for (const s of golden.sets) {
      expect(tokenize(s.candidate).join(' '), s.candidate).toBe(s.candidateTokens);
      s.references.forEach((r, k) => expect(tokenize(r).join(' '), r).toBe(s.referenceTokens[k]));
    }
  });

  it('from raw strings, evaluateCaptions gives the toolkit numbers', () => {
    const refs = new Map(golden.sets.map((s) => [s.id, s.references]));
    const hyps = new Map(golden.sets.map((s) => [s.id, s.candidate]));
    const scores = evaluateCaptions(refs, hyps);
    for (const [key, value] of Object.entries(golden.expected)) {
      expect(Math.abs(scores[key as keyof typeof scores] - value), key).toBeLessThan(TOLERANCE);
    }
  });
});
