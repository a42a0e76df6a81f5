/**
 * The scheduled-sampling study's table: per schedule, the mean and sample standard deviation over seeds of each
 * run's held-out test scores, and the validation CIDEr-D curve per epoch (the mean over the seeds that reached
 * the epoch). Pure functions of the finished runs, so a resumed study gives the same table as an uninterrupted one;
 * written as CSV (csv-stringify) and JSON by the study (compare-study.ts).
 */
import { stringify } from 'csv-stringify/sync';
import type { CaptionScores } from '../engine/metrics/evaluate.ts';
import { CAPTION_METRICS } from '../engine/metrics/metric-names.ts';
import type { EpsilonScheduleType } from '../engine/schedules.ts';

/** One epoch of a run, as the study keeps it. */
export interface RunEpoch {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly valLoss: number | null;
  readonly valBleu4: number | null;
  readonly valCiderD: number | null;
  /** ε at the epoch's last mini-batch. */
  readonly epsilon: number;
}

/** A finished run: one schedule, one seed. */
export interface RunResult {
  readonly id: string;
  readonly schedule: EpsilonScheduleType;
  readonly seed: number;
  readonly epochs: readonly RunEpoch[];
  /** The epoch kept (best validation CIDEr-D) and its validation figure. */
  readonly bestEpoch: number;
  readonly bestValCiderD: number | null;
  /** Scores of the kept epoch's captions on the held-out test images. */
  readonly test: CaptionScores;
  readonly testImages: number;
  /** Seconds spent training (summed over the epochs, resumed parts included). */
  readonly trainSeconds: number;
}

/** Mean and sample standard deviation (null with fewer than two values). */
export interface MeanSd {
  readonly mean: number;
  readonly sd: number | null;
}

/** One row of the table: a schedule over its seeds. */
export interface ScheduleRow {
  readonly schedule: EpsilonScheduleType;
  readonly runs: number;
  readonly test: { readonly [K in keyof CaptionScores]: MeanSd };
  /** Mean validation CIDEr-D per epoch (index 0 = epoch 1) over the runs that reached it. */
  readonly valCiderD: readonly (number | null)[];
  /** ε at the end of training (the mean over runs; every seed has the same schedule). */
  readonly finalEpsilon: number;
}

export function meanSd(values: readonly number[]): MeanSd {
  if (values.length === 0) throw new Error('meanSd: no values');
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (values.length < 2) return { mean, sd: null };
  const ss = values.reduce((a, b) => a + (b - mean) ** 2, 0);
  return { mean, sd: Math.sqrt(ss / (values.length - 1)) };
}

/** The mean of the non-null values, or null when there are none. */
function meanOf(values: readonly (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length ? present.reduce((a, b) => a + b, 0) / present.length : null;
}

/** Mean validation CIDEr-D per epoch over `runs` (any run, finished or not). */
export function meanCurve(runs: readonly { readonly epochs: readonly Pick<RunEpoch, 'epoch' | 'valCiderD'>[] }[]): (number | null)[] {
  const length = Math.max(0, ...runs.flatMap((r) => r.epochs.map((e) => e.epoch)));
  return Array.from({ length }, (_, i) => meanOf(runs.map((r) => r.epochs.find((e) => e.epoch === i + 1)?.valCiderD ?? null)));
}

/** The table's rows, one per schedule that has finished runs, in the order of `schedules`. */
export function scheduleRows(schedules: readonly EpsilonScheduleType[], runs: readonly RunResult[]): ScheduleRow[] {
  const rows: ScheduleRow[] = [];
  for (const schedule of schedules) {
    const mine = runs.filter((r) => r.schedule === schedule);
    if (mine.length === 0) continue;
    const test = Object.fromEntries(CAPTION_METRICS.map(([key]) => [key, meanSd(mine.map((r) => r.test[key]))])) as ScheduleRow['test'];
    rows.push({
      schedule,
      runs: mine.length,
      test,
      valCiderD: meanCurve(mine),
      finalEpsilon: meanOf(mine.map((r) => r.epochs.at(-1)?.epsilon ?? null)) ?? 1,
    });
  }
  return rows;
}

const fixed = (x: number, digits: number): string => x.toFixed(digits);

/** "0.123 ± 0.004" (just the mean when there is no sd). */
export function formatMeanSd(v: MeanSd, digits = 3): string {
  return v.sd === null ? fixed(v.mean, digits) : `${fixed(v.mean, digits)} ± ${fixed(v.sd, digits)}`;
}

/** The table as aligned text, one row per schedule (what the CLI prints). */
export function formatTable(rows: readonly ScheduleRow[]): string {
  const header = ['schedule', 'runs', ...CAPTION_METRICS.map(([, label]) => label), 'final ε'];
  const body = rows.map((r) => [r.schedule, String(r.runs), ...CAPTION_METRICS.map(([key]) => formatMeanSd(r.test[key])), fixed(r.finalEpsilon, 3)]);
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((row) => row[c]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return `${[line(header), ...body.map(line)].join('\n')}\n`;
}

const round4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/** The table as CSV: one row per schedule, a mean and an sd column per metric (sd empty with one seed). */
export function tableCsv(rows: readonly ScheduleRow[]): string {
  const columns = ['schedule', 'runs', ...CAPTION_METRICS.flatMap(([key]) => [`${key}_mean`, `${key}_sd`]), 'final_epsilon'];
  const records = rows.map((r) => [
    r.schedule,
    r.runs,
    ...CAPTION_METRICS.flatMap(([key]) => [round4(r.test[key].mean), r.test[key].sd === null ? '' : round4(r.test[key].sd!)]),
    round4(r.finalEpsilon),
  ]);
  return stringify(records, { header: true, columns });
}
