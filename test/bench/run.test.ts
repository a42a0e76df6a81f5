import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBenchmarks, type BenchLine } from '../../src-main/bench/run.ts';

describe('the bench runner', () => {
  it('skips the suites whose shared data is absent, with one line each naming suite, bench and backend', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'cs-bench-run-'));
    try {
      const seen: BenchLine[] = [];
      const logs: string[] = [];
      const { lines, ok } = await runBenchmarks({ only: ['data', 'language'], shared: empty, onLine: (l) => seen.push(l), log: (m) => logs.push(m) });
      expect(ok).toBe(true);
      // Suites run in their fixed order whatever the order asked for.
      expect(lines).toEqual([
        { suite: 'language', bench: 'language', backend: expect.any(String), skipped: '../shared not found' },
        { suite: 'data', bench: 'data', backend: expect.any(String), skipped: '../shared not found' },
      ]);
      expect(seen).toEqual(lines);
      expect(logs.some((m) => m.includes(path.join(empty, 'data/coco/captions.json')))).toBe(true);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
