/**
 * `caption-studio compare` end to end on the generated shapes (48 pictures, MobileNet v1 0.75 features, a tiny
 * model): 5 schedules × 2 seeds print the table and write CSV, JSON, PNG and the best model; a study killed with
 * SIGKILL after its 3rd run finished resumes with the same command without redoing the finished runs, and ends
 * with the same table as the uninterrupted study.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, tempDir, TINY_MODEL, writeShapesDataset } from './cli-fixtures.ts';

const SCHEDULES = 'none,always,linear,exponential,inverse-sigmoid';

let root: string;
let cleanup: () => Promise<void>;
let dataset: string;
let cache: string;

beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('cs-cli-compare-'));
  dataset = path.join(root, 'shapes');
  cache = path.join(root, 'cache');
  await writeShapesDataset(dataset, { variants: 2 });
});

afterAll(async () => {
  await cleanup();
});

function compareArgs(out: string, ...more: string[]): string[] {
  return [
    'compare', dataset, '--schedules', SCHEDULES, '--seeds', '2', '--out', out, '--cache', cache, '--workers', '1',
    ...TINY_MODEL, ...['--encoder', 'mobilenet_v1_0.75_224', '--epochs', '3', '--batch', '8', '--lr', '0.02', '--dropout', '0'],
    ...['--val-fraction', '0.2', '--test-fraction', '0.2'],
    ...more,
  ];
}

/** Runs with a result.json (trained and scored) in a study folder. */
async function finishedRuns(out: string): Promise<string[]> {
  const runs = await readdir(path.join(out, 'runs')).catch(() => []);
  return runs.filter((r) => existsSync(path.join(out, 'runs', r, 'result.json'))).sort();
}

interface JsonReport {
  readonly rows: { schedule: string; runs: number; test: Record<string, { mean: number; sd: number | null }>; finalEpsilon: number }[];
  readonly runs: { id: string }[];
  readonly files: { csv: string; json: string; png: string };
  readonly best: { id: string; modelDir: string };
  readonly trained: number;
}

describe('caption-studio compare', () => {
  let whole: JsonReport;
  let wholeOut: string;

  it('prints the table for 5 schedules × 2 seeds and writes CSV, JSON, PNG and the best model', async () => {
    wholeOut = path.join(root, 'whole');
    const text = await runCli(compareArgs(wholeOut));
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines[0]).toBe('10 test images (seeded split (seed 1): 20% validation, 20% test); mean ± sd over seeds');
    expect(lines[1]).toMatch(/^schedule\s+runs\s+BLEU-1\s+BLEU-2\s+BLEU-3\s+BLEU-4\s+ROUGE-L\s+CIDEr-D\s+final ε$/);
    expect(lines.slice(2).map((l) => l.split(/\s+/)[0])).toEqual(SCHEDULES.split(','));
    for (const line of lines.slice(2)) expect(line).toMatch(/^\S+\s+2(\s+\d\.\d{3} ± \d\.\d{3}){6}\s+\d\.\d{3}$/);

    // Same study again with --json: nothing is retrained, the figures are the table's.
    const json = await runCli(compareArgs(wholeOut, '--json'));
    expect(json.code, json.stderr).toBe(0);
    whole = JSON.parse(json.stdout) as JsonReport;
    expect(whole.trained).toBe(0);
    expect(whole.rows.map((r) => [r.schedule, r.runs])).toEqual(SCHEDULES.split(',').map((s) => [s, 2]));
    expect(whole.rows.find((r) => r.schedule === 'none')!.finalEpsilon).toBe(1);
    expect(whole.rows.find((r) => r.schedule === 'always')!.finalEpsilon).toBe(0);
    const printed = lines.slice(2).map((l) => Number(l.split(/\s+/)[17]));
    expect(printed).toEqual(whole.rows.map((r) => Number(r.test.ciderD!.mean.toFixed(3))));

    const csv = (await readFile(whole.files.csv, 'utf8')).trim().split('\n');
    expect(csv).toHaveLength(6);
    expect(csv[0]).toBe('schedule,runs,bleu1_mean,bleu1_sd,bleu2_mean,bleu2_sd,bleu3_mean,bleu3_sd,bleu4_mean,bleu4_sd,rougeL_mean,rougeL_sd,ciderD_mean,ciderD_sd,final_epsilon');
    expect((await sharp(whole.files.png).metadata()).format).toBe('png');
    expect(existsSync(path.join(whole.best.modelDir, 'model.json'))).toBe(true);
    const info = await runCli(['info', whole.best.modelDir]);
    expect(info.code, info.stderr).toBe(0);
  });

  it('resumes a study killed after its 3rd run without redoing finished runs, and gives the same table', async () => {
    const out = path.join(root, 'killed');
    const first = startCli(compareArgs(out));
    await first.waitForStderr(/(^|\n)done: [\s\S]*\ndone: [\s\S]*\ndone: /, 120_000);
    first.child.kill('SIGKILL');
    const ended = await first.done;
    expect(ended.signal).toBe('SIGKILL');
    const before = await finishedRuns(out);
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.length).toBeLessThan(10);

    const again = await runCli(compareArgs(out, '--json'));
    expect(again.code, again.stderr).toBe(0);
    const report = JSON.parse(again.stdout) as JsonReport;
    expect(report.trained).toBe(10 - before.length);
    const skipped = again.stderr.split('\n').filter((l) => l.startsWith('finished before: ')).map((l) => l.split(' ')[2]!).sort();
    expect(skipped).toEqual(before);
    expect(again.stderr.split('\n').filter((l) => /^run \d+\/10: /.test(l))).toHaveLength(10 - before.length);
    expect(report.rows).toEqual(whole.rows);
    expect(await readFile(report.files.csv, 'utf8')).toBe(await readFile(whole.files.csv, 'utf8'));
    expect(report.best.id).toBe(whole.best.id);
  });

  it('refuses an unknown schedule in one line', async () => {
    const bad = await runCli(['compare', dataset, '--schedules', 'none,sometimes', '--out', path.join(root, 'bad')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toBe("caption-studio: --schedules: unknown schedule 'sometimes': choose from none, linear, exponential, inverse-sigmoid, always");
  });
});
