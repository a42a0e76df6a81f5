/** n-gram counting shared by BLEU and CIDEr-D. */

/** Counts of every n-gram of `tokens` with 1 ≤ n ≤ maxN, keyed by its words joined with a space. */
export function countNgrams(tokens: readonly string[], maxN: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let n = 1; n <= maxN; n++) {
    for (let i = 0; i + n <= tokens.length; i++) {
      const key = tokens.slice(i, i + n).join(' ');
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

/** The order n of an n-gram key made by `countNgrams` (tokens never contain spaces). */
export function ngramOrder(key: string): number {
  let n = 1;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) === 32) n++;
  return n;
}
