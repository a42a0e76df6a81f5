/**
 * The contract itself: every method has a request schema, schemas accept what they should and refuse with a
 * one-line message naming the method and field, and the ε-schedule schema agrees with engine/schedules.ts.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { ResponseMap } from '../../src-main/contract/api.ts';
import { METHODS, ipcChannel, isMethodName } from '../../src-main/contract/channels.ts';
import { contentSecurityPolicy } from '../../src-main/contract/csp.ts';
import { epsilonScheduleSchema, parseRequest, requestSchemas, ValidationError, type EpsilonScheduleInput } from '../../src-main/contract/schemas.ts';
import { validateEpsilonSchedule, type EpsilonSchedule } from '../../src-main/engine/schedules.ts';

describe('contract', () => {
  it('has exactly one schema and one response type per method', () => {
    expect(Object.keys(requestSchemas).sort()).toEqual([...METHODS].sort());
    expectTypeOf<keyof ResponseMap>().toEqualTypeOf<(typeof METHODS)[number]>();
    expect(ipcChannel('caption.start')).toBe('cs:caption.start');
    expect(isMethodName('models.list')).toBe(true);
    expect(isMethodName('models.list; rm -rf')).toBe(false);
    expect(isMethodName(42)).toBe(false);
  });

  it('parses valid requests, filling nothing in', () => {
    expect(parseRequest('caption.start', { paths: ['/a.png'], beamSize: 3 })).toEqual({ paths: ['/a.png'], beamSize: 3 });
    expect(parseRequest('app.info', undefined)).toEqual({});
    expect(parseRequest('export.start', { source: { path: '/d' }, format: 'sidecar' })).toEqual({ source: { path: '/d' }, format: 'sidecar' });
  });

  it('refuses bad requests with one line naming the method and the fields', () => {
    const reject = (method: Parameters<typeof parseRequest>[0], payload: unknown): string => {
      try {
        parseRequest(method, payload);
      } catch (err) {
        expect(err).toBeInstanceOf(ValidationError);
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(reject('caption.start', { paths: [] })).toMatch(/^caption\.start: invalid request — paths: /);
    expect(reject('settings.update', { beamSize: 0 })).toMatch(/^settings\.update: invalid request — beamSize: /);
    expect(reject('settings.update', { theme: 'sepia' })).toMatch(/theme: /);
    expect(reject('settings.update', { unknownKey: 1 })).toMatch(/unknownKey|Unrecognized/);
    expect(reject('export.start', { source: { path: '/d' } })).toMatch(/outPath: outPath is needed unless format is sidecar/);
    expect(reject('train.start', { dataset: { path: '/d' }, name: 'x', epochs: 0, batchSize: 8, hiddenDim: 8, schedule: { type: 'none' } })).toMatch(/epochs: /);
    expect(reject('jobs.cancel', 'job-1')).toMatch(/^jobs\.cancel: invalid request — \(payload\): /);
    expect(reject('caption.start', { paths: 'x'.repeat(5), beamSize: -1 })).not.toContain('\n');
  });

  it('accepts the ε schedules the engine accepts, and refuses those it refuses', () => {
    expectTypeOf<EpsilonScheduleInput>().toExtend<EpsilonSchedule>();
    const cases: unknown[] = [
      { type: 'none' },
      { type: 'always' },
      { type: 'linear', k: 1, c: 0.001, epsMin: 0.2 },
      { type: 'exponential', k: 0.99 },
      { type: 'inverse-sigmoid', k: 150, epsMin: 0.75 },
      { type: 'exponential', k: 1.5 },
      { type: 'inverse-sigmoid', k: 0.5 },
      { type: 'linear', k: 1, c: -1, epsMin: 0 },
      { type: 'linear', k: 1, c: 0.1, epsMin: 2 },
    ];
    for (const c of cases) {
      const engineOk = (() => {
        try {
          validateEpsilonSchedule(c as EpsilonSchedule);
          return true;
        } catch {
          return false;
        }
      })();
      expect(epsilonScheduleSchema.safeParse(c).success, JSON.stringify(c)).toBe(engineOk);
    }
  });

  it('builds a CSP with no eval, no inline script and no remote origins', () => {
    const csp = contentSecurityPolicy(['cs-media:']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("img-src 'self' data: blob: cs-media:");
    expect(csp).not.toMatch(/unsafe-eval|https?:|\*/);
  });
});
