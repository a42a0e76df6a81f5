import { describe, expect, it } from 'vitest';
import { beamSearch, greedyDecode, sampleDecode, type DecodedCaption } from '../../src-main/engine/decode.ts';
import { repeatedNgramBans, topAllowed } from '../../src-main/engine/decode-constraints.ts';
import { END, PAD, START, UNK, type StepModel } from '../../src-main/engine/model-types.ts';
import { Rng } from '../../src-main/util/rng.ts';

/** Next-token log-probabilities of a toy model for image `row` after the words `prefix`. */
type Distribution = (row: number, prefix: readonly number[]) => Float32Array;

interface ToyState {
  readonly images: number[];
  /** Tokens fed so far per row, <start> first. */
  readonly fed: number[][];
}

/**
 * A StepModel whose state is the token history, so the test can check that decoding feeds each row the
 * tokens of its own hypothesis, and that keeps a registry of live states to catch leaks and double disposal.
 */
class ToyModel implements StepModel<ToyState> {
  readonly live = new Set<ToyState>();
  readonly stepSizes: number[] = [];
  constructor(
    readonly vocabSize: number,
    readonly rows: number,
    private readonly distribution: Distribution,
    private readonly failAtStep = Infinity,
  ) {}

  private make(images: number[], fed: number[][]): ToyState {
    const state = { images, fed };
    this.live.add(state);
    return state;
  }
  private check(state: ToyState): void {
    if (!this.live.has(state)) throw new Error('used a disposed state');
  }
  initialState(): ToyState {
    return this.make(Array.from({ length: this.rows }, (_, r) => r), Array.from({ length: this.rows }, () => []));
  }
  step(tokens: Int32Array, state: ToyState): { logProbs: Float32Array; state: ToyState } {
    this.check(state);
    if (tokens.length !== state.images.length) throw new Error('tokens/rows mismatch');
    if (this.stepSizes.length >= this.failAtStep) throw new Error('toy failure');
    this.stepSizes.push(tokens.length);
    const V = this.vocabSize;
    const logProbs = new Float32Array(tokens.length * V);
    const fed = state.fed.map((history, i) => {
      const token = tokens[i]!;
      if ((history.length === 0) !== (token === START)) throw new Error(`bad token ${token} after ${history}`);
      const next = [...history, token];
      logProbs.set(this.distribution(state.images[i]!, next.slice(1)), i * V);
      return next;
    });
    return { logProbs, state: this.make([...state.images], fed) };
  }
  select(state: ToyState, rows: Int32Array): ToyState {
    this.check(state);
    return this.make(Array.from(rows, (r) => state.images[r]!), Array.from(rows, (r) => [...state.fed[r]!]));
  }
  dispose(state: ToyState): void {
    this.check(state);
    this.live.delete(state);
  }
}

/** A broken model whose log-probs lack the last row's last entry. */
class ShortModel extends ToyModel {
  override step(tokens: Int32Array, state: ToyState): { logProbs: Float32Array; state: ToyState } {
    const out = super.step(tokens, state);
    return { logProbs: out.logProbs.subarray(0, out.logProbs.length - 1), state: out.state };
  }
}

function logSoftmax(weights: number[]): Float32Array {
  const max = Math.max(...weights);
  const z = Math.log(weights.reduce((s, w) => s + Math.exp(w - max), 0)) + max;
  return Float32Array.from(weights, (w) => w - z);
}

/** log of the given probabilities (0 → −∞), laid out over V ids. */
function fromProbabilities(V: number, probs: Record<number, number>): Float32Array {
  const row = new Float32Array(V).fill(-Infinity);
  for (const [id, p] of Object.entries(probs)) row[Number(id)] = Math.log(p);
  return row;
}

/** A random but fixed distribution per (seed, image, prefix); specials get some mass too. */
function randomDistribution(seed: number, V: number): Distribution {
  return (row, prefix) => {
    let h = seed * 7919 + row * 104729;
    for (const t of prefix) h = (Math.imul(h, 31) + t + 1) >>> 0;
    const rng = new Rng(h);
    return logSoftmax(Array.from({ length: V }, () => rng.next() * 4));
  };
}

/** Every caption of ≤ maxLength words over `words`, with its exact log-prob and score, best first. */
function enumerate(dist: Distribution, row: number, words: number[], maxLength: number, ngram = 0): DecodedCaption[] {
  const out: DecodedCaption[] = [];
  const visit = (prefix: number[], lps: number[]): void => {
    const here = dist(row, prefix);
    const endLps = [...lps, here[END]!];
    const logProb = endLps.reduce((a, b) => a + b, 0);
    out.push({ tokens: prefix, tokenLogProbs: endLps, logProb, score: logProb / (prefix.length + 1) });
    if (prefix.length === maxLength) return;
    for (const w of words) {
      const next = [...prefix, w];
      if (ngram > 0 && hasRepeatedNgram(next, ngram)) continue;
      visit(next, [...lps, here[w]!]);
    }
  };
  visit([], []);
  return out.sort((a, b) => b.score - a.score);
}

function hasRepeatedNgram(words: number[], n: number): boolean {
  const seen = new Set<string>();
  for (let i = 0; i + n <= words.length; i++) {
    const key = words.slice(i, i + n).join(',');
    if (seen.has(key)) return true;
    seen.add(key);
  }
  return false;
}

const tokensOf = (captions: readonly DecodedCaption[]): number[][] => captions.map((c) => c.tokens);

describe('decode-constraints', () => {
  it('finds the tokens that would repeat an n-gram', () => {
    expect(repeatedNgramBans([4, 5, 4], 0)).toEqual([]);
    expect(repeatedNgramBans([4, 5, 4], 1).sort()).toEqual([4, 5]);
    // suffix [4] occurred at 0 (followed by 5) → 5 banned
    expect(repeatedNgramBans([4, 5, 4], 2)).toEqual([5]);
    // suffix [4,5] occurred at 0 followed by 6, and at 3 (the suffix itself, nothing follows)
    expect(repeatedNgramBans([4, 5, 6, 4, 5], 3)).toEqual([6]);
    expect(repeatedNgramBans([4], 3)).toEqual([]);
  });

  it('picks the k best allowed ids, ties to the lower id', () => {
    const row = Float32Array.from([0, -1, -0.5, -0.5, -Infinity, -0.1]);
    const mask = Uint8Array.from([1, 0, 0, 0, 0, 0]);
    expect(topAllowed(row, mask, 3)).toEqual([5, 2, 3]);
    expect(topAllowed(row, mask, 10)).toEqual([5, 2, 3, 1, 4]);
  });
});

describe('greedyDecode', () => {
  it('follows the argmax, ends rows at different steps, and batches rows in one step call', () => {
    // V = 6: words 4 and 5. Row 0: "4 5 <end>"; row 1: "<end>" at once; row 2: "5" then <end>.
    const V = 6;
    const plan = [[4, 5, END], [END], [5, END]];
    const model = new ToyModel(V, 3, (row, prefix) => {
      const want = plan[row]![prefix.length]!;
      return fromProbabilities(V, { [want]: 0.5, [want === END ? 4 : END]: 0.3, [UNK]: 0.2 });
    });
    const captions = greedyDecode(model);
    expect(tokensOf(captions)).toEqual([[4, 5], [], [5]]);
    expect(captions[0]!.logProb).toBeCloseTo(3 * Math.log(0.5), 6);
    expect(captions[0]!.score).toBeCloseTo(Math.log(0.5), 6); // 3 tokens (two words + <end>)
    expect(captions[0]!.tokenLogProbs).toHaveLength(3);
    expect(model.stepSizes).toEqual([3, 2, 1]); // one call per time step; finished rows leave the batch
    expect(model.live.size).toBe(0);
  });

  it('forces <end> after maxLength words', () => {
    const V = 5;
    const model = new ToyModel(V, 1, () => fromProbabilities(V, { 4: 0.9, [END]: 0.1 }));
    const [caption] = greedyDecode(model, { maxLength: 3 });
    expect(caption!.tokens).toEqual([4, 4, 4]);
    expect(caption!.logProb).toBeCloseTo(3 * Math.log(0.9) + Math.log(0.1), 6);
    expect(model.live.size).toBe(0);
  });

  it('never emits forbidden ids (default <pad> <start> <unk>) unless allowed', () => {
    const V = 6;
    const dist: Distribution = (_, prefix) =>
      prefix.length > 0 ? fromProbabilities(V, { [END]: 1 }) : fromProbabilities(V, { [UNK]: 0.4, [PAD]: 0.3, [START]: 0.2, 5: 0.1 });
    expect(greedyDecode(new ToyModel(V, 1, dist))[0]!.tokens).toEqual([5]);
    expect(greedyDecode(new ToyModel(V, 1, dist), { forbidden: [] })[0]!.tokens).toEqual([UNK]);
    expect(() => greedyDecode(new ToyModel(V, 1, dist), { forbidden: [END] })).toThrow(/<end> cannot be forbidden/);
  });

  it('blocks repeated n-grams ("stopped stopped stopped")', () => {
    const V = 6;
    const stuck = (): Float32Array => fromProbabilities(V, { 4: 0.7, 5: 0.2, [END]: 0.1 });
    expect(greedyDecode(new ToyModel(V, 1, stuck), { maxLength: 5 })[0]!.tokens).toEqual([4, 4, 4, 4, 4]);
    expect(greedyDecode(new ToyModel(V, 1, stuck), { maxLength: 5, blockRepeatedNgram: 1 })[0]!.tokens).toEqual([4, 5]);
    // bigrams: 4 4 → (4 4 banned) 5 → 4 → (4 4 and 4 5 both used) <end>
    expect(greedyDecode(new ToyModel(V, 1, stuck), { maxLength: 9, blockRepeatedNgram: 2 })[0]!.tokens).toEqual([4, 4, 5, 4]);
  });
});

describe('captions that finish their sentence (noEndAfter)', () => {
  // ids: 4 "a", 5 "dog", 6 "cat", 7 "of". After "a" the model's single best token is <end> (0.5), as a model
  // taught to stop mid-sentence has it; the grammatical captions are "a dog" and "a cat".
  const V = 8;
  const A = 4;
  const OF = 7;
  const trailing: Distribution = (_row, prefix) => {
    const last = prefix.at(-1);
    if (last === undefined) return fromProbabilities(V, { [A]: 0.9, [END]: 0.1 });
    if (last === A) return fromProbabilities(V, { [END]: 0.5, 5: 0.3, 6: 0.2 });
    if (last === OF) return fromProbabilities(V, { [END]: 0.6, [A]: 0.4 });
    return fromProbabilities(V, { [END]: 0.8, [OF]: 0.2 });
  };
  const endsOn = (c: DecodedCaption, ids: number[]): boolean => ids.includes(c.tokens.at(-1)!);

  it('greedy: without it the caption stops after "a"; with it the next best word follows', () => {
    expect(greedyDecode(new ToyModel(V, 1, trailing), { maxLength: 6 })[0]!.tokens).toEqual([A]);
    const fixed = greedyDecode(new ToyModel(V, 1, trailing), { maxLength: 6, noEndAfter: [A, OF] })[0]!;
    expect(fixed.tokens).toEqual([A, 5]);
    // The reported log-probability is still the model's own.
    expect(fixed.logProb).toBeCloseTo(Math.log(0.9) + Math.log(0.3) + Math.log(0.8), 5);
  });

  it('beam search returns the best-scoring caption among those that do not end on a listed word before maxLength', () => {
    const words = [A, 5, 6, OF];
    // Allowed: the empty caption, captions not ending on "a"/"of", and those cut by maxLength (forced to end).
    const allowed = enumerate(trailing, 0, words, 4).filter((c) => c.tokens.length === 0 || c.tokens.length === 4 || !endsOn(c, [A, OF]));
    const [[best, ...rest]] = beamSearch(new ToyModel(V, 1, trailing), { beamSize: 50, topN: 5, maxLength: 4, noEndAfter: [A, OF] }) as [DecodedCaption[]];
    expect(best!.tokens).toEqual(allowed[0]!.tokens);
    expect(best!.score).toBeCloseTo(allowed[0]!.score, 5);
    for (const c of [best!, ...rest]) expect(c.tokens.length === 4 || !endsOn(c, [A, OF])).toBe(true);
    // Without the option the best caption by score is the one that trails off.
    const [[plain]] = beamSearch(new ToyModel(V, 1, trailing), { beamSize: 50, maxLength: 4 }) as [DecodedCaption[]];
    expect(plain!.tokens).toEqual([A]);
  });

  it('sampling never ends on a listed word before maxLength', () => {
    const rows = sampleDecode(new ToyModel(V, 1, trailing), { rng: new Rng(3), samples: 200, maxLength: 6, noEndAfter: [A, OF] });
    expect(rows[0]!.length).toBe(200);
    expect(rows[0]!.filter((c) => c.tokens.length > 0 && c.tokens.length < 6 && endsOn(c, [A, OF]))).toEqual([]);
    expect(rows[0]!.some((c) => c.tokens.includes(OF))).toBe(true); // "of" is still used inside captions
  });

  it('maxLength still forces <end>, and a caption whose every other word is banned can still end', () => {
    const always = (): Float32Array => fromProbabilities(V, { [A]: 0.99, [END]: 0.01 });
    expect(greedyDecode(new ToyModel(V, 1, always), { maxLength: 3, noEndAfter: [A] })[0]!.tokens).toEqual([A, A, A]);
    // With unigram blocking "a" cannot repeat and <end> may not follow it: nothing is allowed, so <end>.
    const onlyA = (): Float32Array => fromProbabilities(5, { [A]: 0.99, [END]: 0.01 });
    expect(greedyDecode(new ToyModel(5, 1, onlyA), { maxLength: 6, blockRepeatedNgram: 1, noEndAfter: [A] })[0]!.tokens).toEqual([A]);
    expect(beamSearch(new ToyModel(5, 1, onlyA), { beamSize: 2, maxLength: 6, blockRepeatedNgram: 1, noEndAfter: [A] })[0]![0]!.tokens).toEqual([A]);
  });

  it('rejects an id outside the vocabulary', () => {
    expect(() => greedyDecode(new ToyModel(V, 1, trailing), { noEndAfter: [V] })).toThrow(`decode: noEndAfter id ${V} is outside 0..${V - 1}`);
  });
});

describe('beamSearch', () => {
  it('finds a better caption than greedy when the greedy first word is a trap', () => {
    // First word: A (4) 0.55, B (5) 0.45. After A: <end> 0.4, A 0.3, B 0.3. After B: <end> 0.9, A/B 0.05.
    // Greedy: A <end>, p = 0.55·0.4 = 0.22. Best: B <end>, p = 0.45·0.9 = 0.405.
    const V = 6;
    const dist: Distribution = (_, prefix) => {
      if (prefix.length === 0) return fromProbabilities(V, { 4: 0.55, 5: 0.45 });
      if (prefix.length === 1 && prefix[0] === 4) return fromProbabilities(V, { [END]: 0.4, 4: 0.3, 5: 0.3 });
      if (prefix.length === 1) return fromProbabilities(V, { [END]: 0.9, 4: 0.05, 5: 0.05 });
      return fromProbabilities(V, { [END]: 1 });
    };
    const greedy = greedyDecode(new ToyModel(V, 1, dist));
    expect(greedy[0]!.tokens).toEqual([4]);
    expect(Math.exp(greedy[0]!.logProb)).toBeCloseTo(0.22, 6);
    const model = new ToyModel(V, 1, dist);
    const [[best, second]] = beamSearch(model, { beamSize: 2, topN: 2 }) as [DecodedCaption[]];
    expect(best!.tokens).toEqual([5]);
    expect(Math.exp(best!.logProb)).toBeCloseTo(0.405, 6);
    expect(best!.score).toBeCloseTo(Math.log(0.405) / 2, 6);
    expect(second!.tokens).toEqual([4]);
    // Both beams finished after step 2, so the search stopped there.
    expect(model.stepSizes).toEqual([1, 2]);
    expect(model.live.size).toBe(0);
  });

  it('with beam size 1 equals greedy decoding', () => {
    for (let seed = 0; seed < 25; seed++) {
      const V = 8;
      for (const blockRepeatedNgram of [0, 2]) {
        const options = { maxLength: 6, blockRepeatedNgram };
        const greedyModel = new ToyModel(V, 4, randomDistribution(seed, V));
        const beamModel = new ToyModel(V, 4, randomDistribution(seed, V));
        const greedy = greedyDecode(greedyModel, options);
        const beam = beamSearch(beamModel, { ...options, beamSize: 1 }).map((row) => row[0]!);
        expect(beam).toEqual(greedy);
        expect(greedyModel.live.size + beamModel.live.size).toBe(0);
      }
    }
  });

  it('with a beam as large as the caption space returns every caption, in exact score order', () => {
    // Words 4, 5, 6 and up to 3 of them: 1 + 3 + 9 + 27 = 40 captions per image; 3 images batched.
    const V = 7;
    const words = [4, 5, 6];
    for (let seed = 0; seed < 10; seed++) {
      const dist = randomDistribution(100 + seed, V);
      const model = new ToyModel(V, 3, dist);
      const result = beamSearch(model, { beamSize: 40, topN: 40, maxLength: 3 });
      for (let row = 0; row < 3; row++) {
        const all = enumerate(dist, row, words, 3);
        expect(all).toHaveLength(40);
        expect(tokensOf(result[row]!)).toEqual(tokensOf(all));
        result[row]!.forEach((c, i) => {
          expect(c.logProb).toBeCloseTo(all[i]!.logProb, 9);
          expect(c.score).toBeCloseTo(all[i]!.score, 9);
        });
      }
      expect(model.live.size).toBe(0);
    }
  });

  it('finds the global optimum under n-gram blocking and with a small beam gets close', () => {
    const V = 7;
    const words = [4, 5, 6];
    let smallBeamHits = 0;
    for (let seed = 0; seed < 20; seed++) {
      const dist = randomDistribution(500 + seed, V);
      const optimum = enumerate(dist, 0, words, 4, 1)[0]!; // no word twice
      const [[exact]] = beamSearch(new ToyModel(V, 1, dist), { beamSize: 200, maxLength: 4, blockRepeatedNgram: 1 }) as [DecodedCaption[]];
      expect(exact!.tokens).toEqual(optimum.tokens);
      expect(exact!.score).toBeCloseTo(optimum.score, 9);
      const [[small]] = beamSearch(new ToyModel(V, 1, dist), { beamSize: 3, maxLength: 4, blockRepeatedNgram: 1 }) as [DecodedCaption[]];
      expect(small!.score).toBeLessThanOrEqual(optimum.score + 1e-12);
      if (small!.tokens.join() === optimum.tokens.join()) smallBeamHits++;
    }
    expect(smallBeamHits).toBeGreaterThan(10);
  });

  it('keeps finished hypotheses without extending them, ranked by length-normalised score', () => {
    // First step: <end> 0.5, A 0.5. After A: A 1.0 (nearly), so "A A <end>" has mean log-prob log(0.5)/3 and
    // beats "<end>" (log 0.5) once normalised, though its raw log-prob is equal.
    const V = 5;
    const dist: Distribution = (_, prefix) =>
      prefix.length === 0 ? fromProbabilities(V, { [END]: 0.5, 4: 0.5 })
        : prefix.length === 1 ? fromProbabilities(V, { 4: 1 })
          : fromProbabilities(V, { [END]: 1 });
    const model = new ToyModel(V, 1, dist);
    const [beam] = beamSearch(model, { beamSize: 2, topN: 2 });
    expect(tokensOf(beam!)).toEqual([[4, 4], []]);
    expect(beam![0]!.score).toBeCloseTo(Math.log(0.5) / 3, 6); // float32 log-probs
    expect(beam![1]!.score).toBeCloseTo(Math.log(0.5), 6);
    // Step sizes: 1 (start), then 1 (only A is live; <end> stays finished), then 1.
    expect(model.stepSizes).toEqual([1, 1, 1]);
    // lengthPenalty 0 ranks by raw log-prob: equal, and the finished one keeps its place.
    const [raw] = beamSearch(new ToyModel(V, 1, dist), { beamSize: 2, topN: 2, lengthPenalty: 0 });
    expect(tokensOf(raw!)).toEqual([[], [4, 4]]);
  });

  it('rejects bad options with one-line errors', () => {
    const model = new ToyModel(6, 1, randomDistribution(1, 6));
    expect(() => beamSearch(model, { beamSize: 0 })).toThrow(/beamSize must be a positive integer/);
    expect(() => beamSearch(model, { beamSize: 2, topN: 3 })).toThrow(/topN must be an integer in 1\.\.beamSize/);
    expect(() => beamSearch(model, { beamSize: 2, maxLength: 0 })).toThrow(/maxLength/);
    expect(() => greedyDecode(model, { forbidden: [6] })).toThrow(/forbidden id 6 is outside 0\.\.5/);
    expect(model.live.size).toBe(0);
  });
});

describe('sampleDecode', () => {
  const V = 5;
  // First word: A (4) with 0.7, <end> with 0.3; after A always <end>.
  const dist: Distribution = (_, prefix) =>
    prefix.length === 0 ? fromProbabilities(V, { 4: 0.7, [END]: 0.3 }) : fromProbabilities(V, { [END]: 1 });

  it('draws from the model distribution, reproducibly from the seed', () => {
    const model = new ToyModel(V, 2, dist);
    const draws = sampleDecode(model, { rng: new Rng(7), samples: 2000 });
    expect(draws).toHaveLength(2);
    for (const row of draws) {
      expect(row).toHaveLength(2000);
      const fraction = row.filter((c) => c.tokens.length === 1).length / row.length;
      expect(fraction).toBeGreaterThan(0.66); // binomial sd ≈ 0.01 around 0.7
      expect(fraction).toBeLessThan(0.74);
    }
    expect(model.live.size).toBe(0);
    const again = sampleDecode(new ToyModel(V, 2, dist), { rng: new Rng(7), samples: 2000 });
    expect(again).toEqual(draws);
  });

  it('flattens with temperature > 1 and becomes greedy as it goes to 0', () => {
    // T = 2: p(A) = √0.7 / (√0.7 + √0.3) = 0.6044
    const hot = sampleDecode(new ToyModel(V, 1, dist), { rng: new Rng(3), samples: 3000, temperature: 2 })[0]!;
    const fraction = hot.filter((c) => c.tokens.length === 1).length / hot.length;
    expect(fraction).toBeGreaterThan(0.57);
    expect(fraction).toBeLessThan(0.64);
    const seed = 11;
    const random = randomDistribution(seed, 8);
    const cold = sampleDecode(new ToyModel(8, 3, random), { rng: new Rng(1), temperature: 1e-4, maxLength: 6 });
    expect(cold.map((row) => row[0])).toEqual(greedyDecode(new ToyModel(8, 3, random), { maxLength: 6 }));
    expect(() => sampleDecode(new ToyModel(V, 1, dist), { rng: new Rng(1), temperature: 0 })).toThrow(/temperature/);
  });

  it('reports the model log-probability, not the tempered one', () => {
    const draws = sampleDecode(new ToyModel(V, 1, dist), { rng: new Rng(5), samples: 20, temperature: 3 })[0]!;
    for (const c of draws) {
      expect(c.logProb).toBeCloseTo(c.tokens.length === 1 ? Math.log(0.7) : Math.log(0.3), 6);
    }
  });
});

describe('state ownership', () => {
  it('disposes every state when the model fails mid-way or returns the wrong size', () => {
    const V = 6;
    for (const run of [
      (m: ToyModel) => greedyDecode(m),
      (m: ToyModel) => beamSearch(m, { beamSize: 3 }),
      (m: ToyModel) => sampleDecode(m, { rng: new Rng(1), samples: 2 }),
    ]) {
      const failing = new ToyModel(V, 2, () => fromProbabilities(V, { 4: 0.9, [END]: 0.1 }), 2);
      expect(() => run(failing)).toThrow('toy failure');
      expect(failing.live.size).toBe(0);
      const wrong = new ShortModel(V, 2, () => fromProbabilities(V, { 4: 0.9, [END]: 0.1 }));
      expect(() => run(wrong)).toThrow(/^decode: step returned \d+ log-probs, expected [24] rows × 6$/);
      expect(wrong.live.size).toBe(0);
    }
  });

  it('returns nothing for a model without rows', () => {
    expect(greedyDecode(new ToyModel(6, 0, randomDistribution(1, 6)))).toEqual([]);
    expect(beamSearch(new ToyModel(6, 0, randomDistribution(1, 6)), { beamSize: 2 })).toEqual([]);
  });
});
