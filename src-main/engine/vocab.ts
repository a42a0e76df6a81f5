/**
 * The word ↔ id mapping of a caption model. Ids 0..3 are the special tokens of model-types.ts; ordinary words
 * follow in a deterministic order (count descending, then code-point order), so the same captions always give
 * the same vocabulary.
 */
import { z } from 'zod';
import { END, PAD, SPECIAL_TOKENS, START, UNK } from './model-types.ts';
import { detokenize } from '../text/tokenize.ts';

/** Options for `Vocabulary.build`. */
export interface VocabularyBuildOptions {
  /** A word must occur at least this often to get its own id (default 1). */
  readonly minCount?: number;
  /** Cap on the vocabulary size V, the four special tokens included (default: no cap). */
  readonly maxSize?: number;
}

/** The JSON form stored in model bundles. */
export interface VocabularyJson {
  readonly format: 'caption-studio-vocabulary';
  readonly version: 1;
  /** Every token by id, special tokens first. */
  readonly tokens: readonly string[];
}

const VOCABULARY_JSON = z.object({
  format: z.literal('caption-studio-vocabulary'),
  version: z.literal(1),
  tokens: z.array(z.string().min(1)),
});

/** An immutable vocabulary: special tokens at ids 0..3, then words. */
export class Vocabulary {
  private readonly tokens: readonly string[];
  private readonly ids: ReadonlyMap<string, number>;

  private constructor(tokens: readonly string[]) {
    this.tokens = tokens;
    const ids = new Map<string, number>();
    // Only ordinary words are looked up: a caption that literally contains "<end>" must not end the row.
    for (let id = SPECIAL_TOKENS.length; id < tokens.length; id++) ids.set(tokens[id]!, id);
    this.ids = ids;
  }

  /**
   * Counts the words of tokenised captions and keeps those seen at least `minCount` times (at most
   * `maxSize - 4` of them), most frequent first, ties in code-point order.
   */
  static build(tokenLists: Iterable<readonly string[]>, options: VocabularyBuildOptions = {}): Vocabulary {
    const minCount = options.minCount ?? 1;
    const maxSize = options.maxSize ?? Infinity;
    if (!Number.isInteger(minCount) || minCount < 1) {
      throw new Error(`Vocabulary.build: minCount must be a positive integer, got ${minCount}`);
    }
    if (maxSize !== Infinity && (!Number.isInteger(maxSize) || maxSize < SPECIAL_TOKENS.length)) {
      throw new Error(`Vocabulary.build: maxSize must be an integer ≥ ${SPECIAL_TOKENS.length}, got ${maxSize}`);
    }
    const specials = new Set<string>(SPECIAL_TOKENS);
    const counts = new Map<string, number>();
    for (const tokens of tokenLists) {
      for (const token of tokens) {
        if (token.length === 0 || specials.has(token)) continue;
        counts.set(token, (counts.get(token) ?? 0) + 1);
      }
    }
    const words = [...counts]
      .filter(([, count]) => count >= minCount)
      .sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, maxSize - SPECIAL_TOKENS.length)
      .map(([word]) => word);
    return new Vocabulary([...SPECIAL_TOKENS, ...words]);
  }

  /**
   * Reads the JSON form (`toJSON`), checking it; `source` names the file in error messages.
   * Throws a one-line Error such as `vocab.json: not a vocabulary (tokens: expected array)`.
   */
  static fromJSON(json: unknown, source = 'vocabulary'): Vocabulary {
    const parsed = VOCABULARY_JSON.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? `${issue.path.map(String).join('.')}: ` : '';
      throw new Error(`${source}: not a vocabulary (${where}${issue?.message ?? 'invalid'})`);
    }
    const { tokens } = parsed.data;
    SPECIAL_TOKENS.forEach((special, id) => {
      if (tokens[id] !== special) {
        throw new Error(`${source}: token ${id} must be ${special}, found ${JSON.stringify(tokens[id] ?? null)}`);
      }
    });
    const seen = new Set<string>();
    for (const token of tokens) {
      if (seen.has(token)) throw new Error(`${source}: token ${JSON.stringify(token)} appears twice`);
      seen.add(token);
    }
    return new Vocabulary(tokens);
  }

  /** The JSON form, read back by `fromJSON`. */
  toJSON(): VocabularyJson {
    return { format: 'caption-studio-vocabulary', version: 1, tokens: [...this.tokens] };
  }

  /** V: the number of ids, special tokens included. */
  get size(): number {
    return this.tokens.length;
  }

  /** The id of a word, or UNK when it has none (special token names are not words and give UNK). */
  id(word: string): number {
    return this.ids.get(word) ?? UNK;
  }

  /** The token with this id (special tokens by their names); throws for an id outside 0..size-1. */
  token(id: number): string {
    const token = this.tokens[id];
    if (token === undefined) throw new Error(`Vocabulary: id ${id} is outside 0..${this.tokens.length - 1}`);
    return token;
  }

  /** Ids of the given words; unknown words become UNK. */
  encode(tokens: readonly string[]): Int32Array {
    const ids = new Int32Array(tokens.length);
    tokens.forEach((token, i) => (ids[i] = this.id(token)));
    return ids;
  }

  /**
   * One training row of exactly `rowLength` ids: `<start> w1 … wn <end> <pad> …` (CaptionBatch layout).
   * Words beyond `rowLength - 2` are dropped so that every row keeps its <end>.
   */
  encodeCaption(tokens: readonly string[], rowLength: number): Int32Array {
    if (!Number.isInteger(rowLength) || rowLength < 2) {
      throw new Error(`Vocabulary.encodeCaption: rowLength must be an integer ≥ 2, got ${rowLength}`);
    }
    const row = new Int32Array(rowLength).fill(PAD);
    const n = Math.min(tokens.length, rowLength - 2);
    row[0] = START;
    for (let i = 0; i < n; i++) row[i + 1] = this.id(tokens[i]!);
    row[n + 1] = END;
    return row;
  }

  /** `encodeCaption` for many captions, concatenated row-major into one B × rowLength array. */
  encodeCaptions(tokenLists: readonly (readonly string[])[], rowLength: number): Int32Array {
    const rows = new Int32Array(tokenLists.length * rowLength);
    tokenLists.forEach((tokens, i) => rows.set(this.encodeCaption(tokens, rowLength), i * rowLength));
    return rows;
  }

  /** The words of an id sequence: stops at the first <end>, skips <pad>, <start> and <unk>. */
  decodeTokens(ids: ArrayLike<number>): string[] {
    const words: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id === END) break;
      if (id === PAD || id === START || id === UNK) continue;
      words.push(this.token(id));
    }
    return words;
  }

  /** A caption as text (`decodeTokens` joined by `detokenize`, so "man" "'s" reads "man's"). */
  decode(ids: ArrayLike<number>): string {
    return detokenize(this.decodeTokens(ids));
  }
}
