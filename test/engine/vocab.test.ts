import { describe, expect, it } from 'vitest';
import { END, PAD, SPECIAL_TOKENS, START, UNK } from '../../src-main/engine/model-types.ts';
import { Vocabulary } from '../../src-main/engine/vocab.ts';

const captions = [
  ['a', 'dog', 'runs'],
  ['a', 'cat', 'sits'],
  ['a', 'dog', 'sits'],
  ['the', 'zebra'],
];
// counts: a 3, dog 2, sits 2, cat 1, runs 1, the 1, zebra 1

describe('Vocabulary.build', () => {
  it('puts special tokens first, then words by count desc, then code-point order', () => {
    const vocab = Vocabulary.build(captions);
    expect(vocab.toJSON().tokens).toEqual([...SPECIAL_TOKENS, 'a', 'dog', 'sits', 'cat', 'runs', 'the', 'zebra']);
    expect(vocab.size).toBe(11);
    expect([vocab.id('a'), vocab.id('zebra')]).toEqual([4, 10]);
  });

  it('applies minCount and maxSize', () => {
    expect(Vocabulary.build(captions, { minCount: 2 }).toJSON().tokens.slice(4)).toEqual(['a', 'dog', 'sits']);
    expect(Vocabulary.build(captions, { maxSize: 6 }).toJSON().tokens.slice(4)).toEqual(['a', 'dog']);
    expect(Vocabulary.build(captions, { minCount: 4 }).size).toBe(4);
  });

  it('does not depend on caption order', () => {
    const a = Vocabulary.build(captions).toJSON();
    const b = Vocabulary.build([...captions].reverse().map((c) => [...c].reverse())).toJSON();
    expect(b).toEqual(a);
  });

  it('never gives a special-token name an ordinary id', () => {
    const vocab = Vocabulary.build([['<end>', 'dog', '<pad>', '']]);
    expect(vocab.toJSON().tokens).toEqual([...SPECIAL_TOKENS, 'dog']);
    expect(Array.from(vocab.encode(['<end>', 'dog', '<start>']))).toEqual([UNK, 4, UNK]);
  });

  it('rejects bad options', () => {
    expect(() => Vocabulary.build(captions, { minCount: 0 })).toThrow(/minCount/);
    expect(() => Vocabulary.build(captions, { maxSize: 3 })).toThrow(/maxSize/);
  });
});

describe('Vocabulary encode/decode', () => {
  const vocab = Vocabulary.build(captions);

  it('encodes unknown words as <unk>', () => {
    expect(Array.from(vocab.encode(['a', 'horse', 'runs']))).toEqual([4, UNK, 8]);
  });

  it('lays a caption out as <start> w… <end> <pad>…, truncating to keep <end>', () => {
    expect(Array.from(vocab.encodeCaption(['a', 'dog'], 6))).toEqual([START, 4, 5, END, PAD, PAD]);
    expect(Array.from(vocab.encodeCaption(['a', 'dog', 'sits', 'the'], 4))).toEqual([START, 4, 5, END]);
    expect(Array.from(vocab.encodeCaption([], 3))).toEqual([START, END, PAD]);
    expect(() => vocab.encodeCaption(['a'], 1)).toThrow(/rowLength/);
    expect(Array.from(vocab.encodeCaptions([['a'], ['cat', 'sits']], 4))).toEqual([
      START, 4, END, PAD,
      START, 7, 6, END,
    ]);
  });

  it('decodes up to <end>, skipping specials, attaching clitics', () => {
    expect(vocab.decode([START, 4, 5, UNK, 8, END, 6, PAD])).toBe('a dog runs');
    expect(vocab.decodeTokens([4, PAD, 7])).toEqual(['a', 'cat']);
    const clitics = Vocabulary.build([['man', "'s", 'hat']]);
    expect(clitics.decode(clitics.encode(['man', "'s", 'hat']))).toBe("man's hat");
    expect(() => vocab.decode([99])).toThrow(/id 99/);
  });
});

describe('Vocabulary JSON', () => {
  it('round-trips', () => {
    const vocab = Vocabulary.build(captions);
    const again = Vocabulary.fromJSON(JSON.parse(JSON.stringify(vocab)), 'vocab.json');
    expect(again.toJSON()).toEqual(vocab.toJSON());
    expect(again.id('zebra')).toBe(10);
  });

  it('rejects malformed input with one line naming the source', () => {
    const good = Vocabulary.build(captions).toJSON();
    const cases: [unknown, RegExp][] = [
      [null, /^vocab\.json: not a vocabulary/],
      [{ ...good, tokens: 'a b' }, /^vocab\.json: not a vocabulary \(tokens: /],
      [{ ...good, version: 2 }, /^vocab\.json: not a vocabulary \(version: /],
      [{ ...good, tokens: ['<pad>', '<end>', '<start>', '<unk>'] }, /^vocab\.json: token 1 must be <start>/],
      [{ ...good, tokens: ['<pad>', '<start>'] }, /^vocab\.json: token 2 must be <end>, found null/],
      [{ ...good, tokens: [...SPECIAL_TOKENS, 'dog', 'dog'] }, /^vocab\.json: token "dog" appears twice/],
    ];
    for (const [json, message] of cases) {
      expect(() => Vocabulary.fromJSON(json, 'vocab.json')).toThrow(message);
      try {
        Vocabulary.fromJSON(json, 'vocab.json');
      } catch (err) {
        expect((err as Error).message).not.toContain('\n');
      }
    }
  });
});
