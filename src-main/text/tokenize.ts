/**
 * The one tokenizer for captions: training vocabularies and metrics both go through it, so a word the model
 * learns is the word the metrics count.
 *
 * It follows what the COCO caption toolkit (Stanford PTBTokenizer with -lowerCase, then removal of punctuation
 * tokens) produces for English, and extends it to any script:
 * - text is NFC-normalised and lower-cased with the locale-independent `toLowerCase` ("Straße" → "straße",
 *   "Đường" → "đường"; decomposed input gives the same tokens as precomposed input);
 * - a token is a run of letters, marks and digits of any script (`\p{L}\p{M}\p{N}`); everything else — spaces,
 *   punctuation, symbols (& $ % #), emoji — separates tokens and is dropped;
 * - hyphenated compounds stay one token, as PTB keeps them ("t-shirt", "black-and-white");
 * - digit groups stay one token ("3.5", "1,000"), as PTB keeps them;
 * - apostrophes: English clitics are split off as PTB does and kept, since COCO keeps them ("man's" → "man 's",
 *   "don't" → "do n't", "they're" → "they 're"); any other apostrophe between letters stays inside the word
 *   ("o'clock", "l'eau"); a quote apostrophe at a word's edge is dropped ("dogs'" → "dogs"). The typographic
 *   apostrophes ’ ‘ ʼ ＇ count as '. A clitic standing alone after a space ("man 's", already tokenised text) is kept,
 *   so tokenising `detokenize(tokens)` gives `tokens` back;
 * - Han ideographs (Chinese, Japanese kanji), which are written without spaces, are one token each, as BERT's
 *   basic tokenizer does; other scripts written without spaces (Thai, kana) stay runs.
 * Not done (rare in captions): PTB's splitting of "cannot"/"gonna", abbreviations with periods ("u.s." → "u s").
 */

const WORD_CHAR = String.raw`(?:(?!\p{Script=Han})[\p{L}\p{M}\p{N}])`;
const WORD_RUN = `${WORD_CHAR}+`;
/** Joiners that keep a compound one token: apostrophe, hyphen, or a decimal point / thousands comma in a number. */
const JOINER = String.raw`(?:'|-|(?<=\p{N})[.,](?=\p{N}))`;
const CLITIC = String.raw`'(?:s|re|ve|ll|d|m)`;
const TOKEN_PATTERN = new RegExp(
  [
    String.raw`\p{Script=Han}`,
    `${WORD_RUN}(?:${JOINER}${WORD_RUN})*`,
    `${CLITIC}(?!${WORD_CHAR})`,
  ].join('|'),
  'gu',
);
const TRAILING_CLITIC = /^(.*[^'])('(?:s|re|ve|ll|d|m)|n't)$/u;
/** Apostrophe look-alikes folded to ASCII ' before matching: ’ ‘ ʼ and the full-width ＇. */
const APOSTROPHES = /[\u2019\u2018\u02bc\uff07]/gu;

/** Splits a caption into lower-case word tokens (see the module comment for the exact rules). */
export function tokenize(text: string): string[] {
  const normalized = text.normalize('NFC').toLowerCase().normalize('NFC').replace(APOSTROPHES, "'");
  const tokens: string[] = [];
  for (const match of normalized.matchAll(TOKEN_PATTERN)) {
    const word = match[0];
    const clitic = TRAILING_CLITIC.exec(word);
    if (clitic && clitic[1]) {
      tokens.push(clitic[1], clitic[2]!);
    } else {
      tokens.push(word);
    }
  }
  return tokens;
}

/** True for a token that attaches to the word before it when written out ("'s", "n't"). */
export function isClitic(token: string): boolean {
  return /^(?:'(?:s|re|ve|ll|d|m)|n't)$/u.test(token);
}

/**
 * Writes tokens back as text: words joined by spaces, clitics attached to the word before them
 * ("man", "'s" → "man's"; "do", "n't" → "don't"). `tokenize(detokenize(t))` equals `t` for tokenizer output.
 */
export function detokenize(tokens: readonly string[]): string {
  let text = '';
  for (const token of tokens) {
    if (text.length > 0 && !isClitic(token)) text += ' ';
    text += token;
  }
  return text;
}
