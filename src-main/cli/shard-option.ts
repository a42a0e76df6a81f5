/**
 * `--shard i/n` for caption and export: the option's parser, and the share of the inputs a shard works on (each
 * input keyed by its path relative to the folder named on the command line, or to the dataset file's folder —
 * see util/shard.ts).
 */
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import { parseShard, shardKey, takeShard, type ShardSpec } from '../util/shard.ts';

export const SHARD_HELP = 'work on share i of n (0-based) of the inputs, by a stable hash of their relative paths';

/** Commander parser of the option value. */
export function shardArg(value: string): ShardSpec {
  try {
    return parseShard(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--shard: /, ''));
  }
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
