/** `--workers <n>` (train, compare, caption, export): 1 to 4 threads per core, anything else a one-line usage error. */
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { workerCount } from '../../src-main/cli/options.ts';

describe('workerCount', () => {
  it('takes 1 to 4 threads per core', () => {
    expect(workerCount('1', 2)).toBe(1);
    expect(workerCount('2', 2)).toBe(2);
    expect(workerCount('8', 2)).toBe(8);
    expect(workerCount('64', 16)).toBe(64);
  });

  it('refuses more than 4 per core, naming the limit, and what is not a positive integer', () => {
    expect(() => workerCount('9', 2)).toThrow(InvalidArgumentError);
    expect(() => workerCount('9', 2)).toThrow("expected at most 8 threads (4 per core on this machine's 2), got 9");
    expect(() => workerCount('1000', 16)).toThrow('expected at most 64 threads');
    expect(() => workerCount('0', 2)).toThrow("expected a positive integer, got '0'");
    expect(() => workerCount('two', 2)).toThrow("expected a positive integer, got 'two'");
  });
});
