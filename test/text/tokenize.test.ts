import { describe, expect, it } from 'vitest';
import { detokenize, isClitic, tokenize } from '../../src-main/text/tokenize.ts';

describe('tokenize', () => {
  it('lower-cases and drops punctuation as the COCO toolkit does for English', () => {
    expect(tokenize('A man riding a wave on top of a surfboard.')).toEqual([
      'a', 'man', 'riding', 'a', 'wave', 'on', 'top', 'of', 'a', 'surfboard',
    ]);
    expect(tokenize('Two dogs (brown, white) play; "fetch"?! -- yes...')).toEqual([
      'two', 'dogs', 'brown', 'white', 'play', 'fetch', 'yes',
    ]);
    expect(tokenize('  \t\n ')).toEqual([]);
    expect(tokenize('')).toEqual([]);
  });

  it('keeps words of any script with their diacritics', () => {
    expect(tokenize('Đường phố ở Hà Nội.')).toEqual(['đường', 'phố', 'ở', 'hà', 'nội']);
    expect(tokenize('Die Straße, ÜBER Öl')).toEqual(['die', 'straße', 'über', 'öl']);
    expect(tokenize('Кошка спит на диване')).toEqual(['кошка', 'спит', 'на', 'диване']);
  });

  it('normalises to NFC, so decomposed and precomposed input give the same tokens', () => {
    const decomposed = 'Pho\u0302\u0300 CAFE\u0301'; // ô + grave, E + acute as combining marks
    expect(tokenize(decomposed)).toEqual(['phồ', 'café']);
    expect(tokenize(decomposed)).toEqual(tokenize('Phồ Café'));
    expect(tokenize(decomposed)[1]).toHaveLength(4);
  });

  it('splits English clitics off and keeps them, as PTB does', () => {
    expect(tokenize("A man's hat")).toEqual(['a', 'man', "'s", 'hat']);
    expect(tokenize("Don't, they're; can't")).toEqual(['do', "n't", 'they', "'re", 'ca', "n't"]);
    expect(tokenize('The dog’s bowl')).toEqual(['the', 'dog', "'s", 'bowl']); // typographic apostrophe
    expect(tokenize("man 's")).toEqual(['man', "'s"]); // already tokenised text
  });

  it('keeps other inner apostrophes, drops quote apostrophes at word edges', () => {
    expect(tokenize("At five o'clock")).toEqual(['at', 'five', "o'clock"]);
    expect(tokenize("the dogs' 'sunny' ball")).toEqual(['the', 'dogs', 'sunny', 'ball']);
  });

  it('keeps hyphenated compounds and numbers with separators as one token', () => {
    expect(tokenize('A black-and-white T-shirt')).toEqual(['a', 'black-and-white', 't-shirt']);
    expect(tokenize('well- - so')).toEqual(['well', 'so']);
    expect(tokenize('3.5 miles, 1,000 people, 2,dogs.')).toEqual(['3.5', 'miles', '1,000', 'people', '2', 'dogs']);
  });

  it('makes each Han ideograph a token', () => {
    expect(tokenize('一只猫')).toEqual(['一', '只', '猫']);
  });

  it('drops symbols and emoji', () => {
    expect(tokenize('cats & dogs 🐶 #1 50%')).toEqual(['cats', 'dogs', '1', '50']);
  });
});

describe('detokenize', () => {
  it('attaches clitics and round-trips through tokenize', () => {
    const tokens = ['a', 'man', "'s", 'hat', 'do', "n't", 'go'];
    expect(detokenize(tokens)).toBe("a man's hat don't go");
    expect(tokenize(detokenize(tokens))).toEqual(tokens);
    expect(detokenize([])).toBe('');
    expect(isClitic("'ll")).toBe(true);
    expect(isClitic("o'clock")).toBe(false);
  });
});
