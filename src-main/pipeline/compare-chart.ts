/**
 * The study's chart: validation CIDEr-D per epoch, one line per schedule (the mean over its seeds) over thin lines
 * of its single runs, drawn as SVG and rasterised to PNG by sharp (librsvg), so no canvas or browser is needed.
 */
import sharp from 'sharp';
import type { EpsilonScheduleType } from '../engine/schedules.ts';
import { SCHEDULE_COLOURS } from './schedule-colours.ts';

/** One schedule's curves: its mean and each run's validation CIDEr-D per epoch (index 0 = epoch 1). */
export interface ChartSeries {
  readonly schedule: EpsilonScheduleType;
  readonly mean: readonly (number | null)[];
  readonly runs: readonly (readonly (number | null)[])[];
}


const W = 900;
const H = 540;
const M = { left: 70, right: 190, top: 50, bottom: 60 };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** "Nice" tick step for a range (1, 2 or 5 × a power of ten) giving about `n` ticks. */
function tickStep(range: number, n: number): number {
  const raw = range / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m >= 5 ? 10 : m >= 2 ? 5 : m >= 1 ? 2 : 1) * p;
}

/** The polyline paths of a curve (a gap where a value is null). */
function paths(values: readonly (number | null)[], x: (i: number) => number, y: (v: number) => number): string[] {
  const out: string[] = [];
  let current: string[] = [];
  values.forEach((v, i) => {
    if (v === null) {
      if (current.length) out.push(current.join(' '));
      current = [];
    } else {
      current.push(`${current.length ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    }
  });
  if (current.length) out.push(current.join(' '));
  return out;
}

/** The chart as an SVG document. */
export function chartSvg(series: readonly ChartSeries[], title: string): string {
  const all = series.flatMap((s) => [...s.mean, ...s.runs.flat()]).filter((v): v is number => v !== null);
  const epochs = Math.max(1, ...series.flatMap((s) => [s.mean.length, ...s.runs.map((r) => r.length)]));
  const top = all.length ? Math.max(...all) : 1;
  const step = tickStep(top > 0 ? top : 1, 5);
  const yMax = Math.max(step, Math.ceil((top > 0 ? top : 1) / step) * step);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const x = (i: number): number => M.left + (epochs === 1 ? pw / 2 : (i * pw) / (epochs - 1));
  const y = (v: number): number => M.top + ph - (v / yMax) * ph;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="DejaVu Sans, Liberation Sans, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="28" font-size="17" fill="#222">${esc(title)}</text>`,
  ];
  const digits = step >= 1 ? 0 : Math.min(4, Math.ceil(-Math.log10(step)));
  for (let v = 0; v <= yMax + step / 2; v += step) {
    parts.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${M.left - 8}" y="${(y(v) + 4).toFixed(1)}" font-size="12" text-anchor="end" fill="#444">${v.toFixed(digits)}</text>`);
  }
  const every = Math.max(1, Math.ceil(epochs / 12));
  for (let i = 0; i < epochs; i += every) {
    parts.push(`<text x="${x(i).toFixed(1)}" y="${M.top + ph + 20}" font-size="12" text-anchor="middle" fill="#444">${i + 1}</text>`);
  }
  parts.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#888"/>`);
  parts.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#888"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${H - 16}" font-size="13" text-anchor="middle" fill="#222">epoch</text>`);
  parts.push(
    `<text transform="translate(20 ${M.top + ph / 2}) rotate(-90)" font-size="13" text-anchor="middle" fill="#222">validation CIDEr-D</text>`,
  );
  for (const s of series) {
    const colour = SCHEDULE_COLOURS[s.schedule];
    for (const run of s.runs) {
      for (const d of paths(run, x, y)) parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-opacity="0.35" stroke-width="1"/>`);
    }
    for (const d of paths(s.mean, x, y)) parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="2.5"/>`);
    s.mean.forEach((v, i) => {
      if (v !== null) parts.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${colour}"/>`);
    });
  }
  series.forEach((s, k) => {
    const ly = M.top + 10 + k * 24;
    const lx = W - M.right + 20;
    parts.push(`<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="${SCHEDULE_COLOURS[s.schedule]}" stroke-width="3"/>`);
    parts.push(`<text x="${lx + 34}" y="${ly + 4}" font-size="13" fill="#222">${esc(s.schedule)}</text>`);
  });
  parts.push(`<text x="${W - M.right + 20}" y="${M.top + 10 + series.length * 24 + 8}" font-size="11" fill="#666">thick: mean over seeds</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

/** The chart as PNG bytes. */
export async function chartPng(series: readonly ChartSeries[], title: string): Promise<Buffer> {
  return sharp(Buffer.from(chartSvg(series, title))).png().toBuffer();
}
