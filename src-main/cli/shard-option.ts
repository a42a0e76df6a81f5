/**
 * `--shard i/n` for caption and export: the option's parser, and the share of the inputs a shard works on (each
 * input keyed by its path relative to the folder named on the command line, or to the dataset file's folder —
 * see util/shard.ts).
 */
import { InvalidArgumentError } from 'commander';
import { parseShard, type ShardSpec } from '../util/shard.ts';

export const SHARD_HELP = 'work on share i of n (0-based) of the inputs, by a stable hash of their relative paths';

/** Commander parser of the option value. */
export function shardArg(value: string): ShardSpec {
  try {
    return parseShard(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--shard: /, ''));
  }
}

export { shareOf, shardRoots } from '../util/shard.ts';
