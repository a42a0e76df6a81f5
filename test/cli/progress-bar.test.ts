import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatDuration, formatRate, ProgressBar } from '../../src-main/cli/progress-bar.ts';

describe('progress line', () => {
  it('shows the image rate for image tasks only, once it is known', () => {
    expect(formatRate({ task: 'extract', done: 3, total: 10, rate: 12.4 })).toBe('12 img/s');
    expect(formatRate({ task: 'caption', done: 3, total: 10, rate: 1.46 })).toBe('1.5 img/s');
    expect(formatRate({ task: 'extract', done: 0, total: 10 })).toBe('');
    expect(formatRate({ task: 'extract', done: 0, total: 10, rate: 0 })).toBe('');
    expect(formatRate({ task: 'train', done: 3, total: 10, rate: 2 })).toBe('');
  });

  it('formats durations', () => {
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(185)).toBe('3m05s');
    expect(formatDuration(3720)).toBe('1h02m');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('?');
  });

  it('writes plain lines with counts, rate and ETA when the stream is not a terminal', () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream;
    let text = '';
    (stream as unknown as PassThrough).on('data', (chunk: Buffer) => (text += chunk.toString()));
    const bar = new ProgressBar(stream);
    bar.update({ task: 'extract', done: 4, total: 10, rate: 8, etaSeconds: 0.75, values: { cached: 1, computed: 3, failed: 0 } });
    expect(text).toBe('extract 4/10 cached 1 · computed 3 · failed 0 · 8.0 img/s · ETA 1s\n');
  });
});
