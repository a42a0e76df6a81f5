/**
 * Deterministic shares of a list of inputs, for captioning beyond one machine: `--shard i/n` keeps the inputs whose
 * key hashes to i modulo n. The key is an image's path relative to the folder (or dataset) it was found in, with
 * '/' separators, so every machine of a cluster job computes the same shares whatever the mount point; the hash
 * is the first 32 bits of SHA-256 of the key's UTF-8 bytes (stable across platforms and versions).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';

/** Shard `index` of `count` (0 ≤ index < count). */
export interface ShardSpec {
  readonly index: number;
  readonly count: number;
}

/** Parses "i/n" (0-based i < n); throws a one-line Error naming the value. */
export function parseShard(value: string): ShardSpec {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  if (!m) throw new Error(`--shard: expected i/n (e.g. 0/4), got '${value}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!(count >= 1)) throw new Error(`--shard: the shard count must be at least 1, got '${value}'`);
  if (!(index < count)) throw new Error(`--shard: the index must be below the count (0 … ${count - 1}), got '${value}'`);
  return { index, count };
}

/** "i/n". */
export function formatShard(spec: ShardSpec): string {
  return `${spec.index}/${spec.count}`;
}

/** Which of `count` shards a key falls in. */
export function shardOfKey(key: string, count: number): number {
  const digest = createHash('sha256').update(key, 'utf8').digest();
  return digest.readUInt32BE(0) % count;
}

/**
 * The key of a file: its path relative to the first root folder that contains it ('/'-separated), else its base
 * name (a file named directly).
 */
export function shardKey(file: string, roots: readonly string[]): string {
  const abs = path.resolve(file);
  for (const root of roots) {
    const rel = path.relative(path.resolve(root), abs);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel.split(path.sep).join('/');
  }
  return path.basename(abs);
}

/** The items of shard `spec`, in their original order, each with its index in the whole list. */
export function takeShard<T>(items: readonly T[], keyOf: (item: T) => string, spec: ShardSpec): { item: T; index: number }[] {
  const out: { item: T; index: number }[] = [];
  items.forEach((item, index) => {
    if (shardOfKey(keyOf(item), spec.count) === spec.index) out.push({ item, index });
  });
  return out;
}

/** A fingerprint of the whole input list (its keys in order): shards of different inputs are not merged. */
export function inputsFingerprint(keys: readonly string[]): string {
  const h = createHash('sha256');
  for (const k of keys) h.update(`${k}\u0000`);
  return h.digest('hex').slice(0, 16);
}

/** Where relative paths are taken from: the inputs themselves (folders), then their folders (files). */
export function shardRoots(inputs: readonly string[]): string[] {
  return [...inputs, ...inputs.map((input) => path.dirname(path.resolve(input)))];
}

/**
 * The items of the shard (all of them without one), each with its index in the whole list, and the whole list's
 * keys (for the merge's fingerprint).
 */
export function shareOf<T>(
  items: readonly T[],
  pathOf: (item: T) => string,
  inputs: readonly string[],
  spec: ShardSpec | undefined,
): { share: { item: T; index: number }[]; keys: string[] } {
  const roots = shardRoots(inputs);
  const keys = items.map((item) => shardKey(pathOf(item), roots));
  if (!spec) return { share: items.map((item, index) => ({ item, index })), keys };
  const keyed = takeShard(
    items.map((item, k) => ({ item, key: keys[k]! })),
    (x) => x.key,
    spec,
  );
  return { share: keyed.map(({ item, index }) => ({ item: item.item, index })), keys };
}
