/** Write errors name the file being written: Node's own ENOSPC message ("no space left on device, write") names none. */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { writeError, writeFileSynced } from '../../src-main/util/atomic-write.ts';

describe('a full disk', () => {
  it.runIf(existsSync('/dev/full'))('is reported as one line naming the file the user knows of', async () => {
    // /dev/full answers every write with ENOSPC, like a full disk.
    const err = await writeFileSynced('/dev/full', 'a,b\n'.repeat(1000), '/home/me/captions.csv').catch((e: unknown) => e as NodeJS.ErrnoException);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe('/home/me/captions.csv: cannot write (no space left on device)');
    expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
  });

  it('keeps the code of any write error and names the file', () => {
    const quota = Object.assign(new Error('EDQUOT: disk quota exceeded, write'), { code: 'EDQUOT' });
    expect(writeError('/data/model.json', quota).message).toBe('/data/model.json: cannot write (disk quota exceeded)');
    expect(writeError('/x', new Error('odd\nsecond line')).message).toBe('/x: cannot write (odd)');
  });
});
