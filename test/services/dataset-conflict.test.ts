/**
 * Saving a dataset that another program writes to at the same time: the save checks, right before renaming its new
 * content over the file, that the file is still what it read (size, mtime, inode, SHA-256); when it is not, it
 * overwrites nothing and answers a conflict (HTTP 409) instead of dropping the other program's lines. Lines appended
 * after that check and before the rename are carried over into the new file.
 */
import { spawn } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetStore } from '../../src-main/services/dataset-store.ts';
import { describeError } from '../../src-main/contract/errors.ts';
import { MediaAccess } from '../../src-main/services/media-access.ts';
import { appendFileSync, closeSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { carryOverAppended, writeFileAtomic } from '../../src-main/util/atomic-write.ts';
import { FileChangedError, fileIdentity } from '../../src-main/util/file-identity.ts';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cs-conflict-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('writeFileAtomic with unchangedSince', () => {
  it('refuses to rename over a file that changed after it was read, and leaves that file as the other writer left it', async () => {
    const file = path.join(root, 'list.csv');
    await writeFile(file, 'image,caption\na.jpg,one\n');
    const before = await fileIdentity(file);
    await appendFile(file, 'a.jpg,appended by someone else\n');
    const refused = writeFileAtomic(file, 'image,caption\na.jpg,edited\n', { unchangedSince: before });
    await expect(refused).rejects.toBeInstanceOf(FileChangedError);
    await expect(refused).rejects.toThrow(/list\.csv: changed on disk while it was being saved/);
    expect(await readFile(file, 'utf8')).toBe('image,caption\na.jpg,one\na.jpg,appended by someone else\n');
    expect(describeError(await refused.catch((e: unknown) => e))).toMatchObject({ code: 'conflict' });
    // Same bytes rewritten (mtime moves): still a change.
    const again = await fileIdentity(file);
    await utimes(file, new Date(), new Date(Date.now() + 5000));
    await expect(writeFileAtomic(file, 'x', { unchangedSince: again })).rejects.toBeInstanceOf(FileChangedError);
    // Unchanged: written.
    await writeFileAtomic(file, 'image,caption\n', { unchangedSince: await fileIdentity(file) });
    expect(await readFile(file, 'utf8')).toBe('image,caption\n');
  });
});

describe('lines appended between the last check and the rename', () => {
  it('are carried over from the replaced file into the new one', () => {
    const file = path.join(root, 'window.csv');
    writeFileSync(file, 'image,caption\na.jpg,one\n');
    const checkedSize = 'image,caption\na.jpg,one\n'.length;
    const replaced = openSync(file, 'r'); // what writeFileAtomic holds open across its check and rename
    try {
      appendFileSync(file, 'a.jpg,appended in the window\n'); // after the check, before the rename
      const tmp = path.join(root, '.window.csv.000000000000.tmp');
      writeFileSync(tmp, 'image,caption\na.jpg,edited\n');
      renameSync(tmp, file);
      carryOverAppended(replaced, checkedSize, file);
      carryOverAppended(replaced, checkedSize + 'a.jpg,appended in the window\n'.length, file); // nothing more: nothing added
    } finally {
      closeSync(replaced);
    }
    expect(readFileSync(file, 'utf8')).toBe('image,caption\na.jpg,edited\na.jpg,appended in the window\n');
  });
});

describe('a line written after the rename through a descriptor opened before it', () => {
  it('is carried over into the new file', async () => {
    const file = path.join(root, 'late.csv');
    writeFileSync(file, 'image,caption\na.jpg,one\n');
    const before = await fileIdentity(file);
    const writer = openSync(file, 'a'); // another program's append, opened before the save renames
    try {
      const saving = writeFileAtomic(file, 'image,caption\na.jpg,edited\n', { unchangedSince: before });
      while (statSync(file).ino === before!.ino) await new Promise((resolve) => setImmediate(resolve));
      writeSync(writer, 'a.jpg,written just after the rename\n'); // lands in the replaced file
      await saving;
    } finally {
      closeSync(writer);
    }
    expect(readFileSync(file, 'utf8')).toBe('image,caption\na.jpg,edited\na.jpg,written just after the rename\n');
  });
});

describe('dataset saves while another process appends to the file', () => {
  it('never lose an appended line: each save is written or refused as a conflict', async () => {
    const dir = path.join(root, 'busy');
    const file = path.join(dir, 'captions.csv');
    const lines = ['image,caption'];
    for (let i = 0; i < 2000; i++) lines.push(`img${i % 50}.jpg,a caption number ${i}`);
    await mkdir(dir, { recursive: true });
    await Promise.all(Array.from({ length: 50 }, (_, i) => writeFile(path.join(dir, `img${i}.jpg`), '')));
    await writeFile(file, `${lines.join('\n')}\n`);
    const store = new DatasetStore(new MediaAccess());
    const view = await store.openDataset({ path: file });

    // Another program appends a numbered line every 30 ms until stopped, then says how many it wrote.
    const appender = spawn(process.execPath, ['-e', `
      const fs = require('node:fs'); let n = 0;
      const t = setInterval(() => fs.appendFileSync(${JSON.stringify(file)}, 'img0.jpg,appended line ' + (n++) + '\\n'), 30);
      process.on('SIGTERM', () => { clearInterval(t); process.stdout.write(String(n)); process.exit(0); });
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    let written = '';
    appender.stdout.on('data', (d: Buffer) => (written += d.toString()));
    await new Promise((resolve) => setTimeout(resolve, 100));

    const outcomes: string[] = [];
    for (let i = 0; i < 40; i++) {
      try {
        await store.save(view.datasetId, [{ id: `img${1 + (i % 40)}.jpg`, captions: [`edited caption ${i}`] }]);
        outcomes.push('saved');
      } catch (err) {
        const { code, message } = describeError(err);
        outcomes.push(code);
        expect(message).toMatch(/captions\.csv: changed on disk while it was being saved/);
      }
    }
    const exited = new Promise((resolve) => appender.on('exit', resolve));
    appender.kill('SIGTERM');
    await exited;
    const appended = Number(written);
    expect(appended).toBeGreaterThan(10);
    const text = await readFile(file, 'utf8');
    const lost = Array.from({ length: appended }, (_, n) => n).filter((n) => !text.includes(`img0.jpg,appended line ${n}\n`));
    expect(lost).toEqual([]);
    expect(outcomes.every((o) => o === 'saved' || o === 'conflict')).toBe(true);
    // Whether a save lands between two appends depends on the machine's load (on a busy machine every one of them
    // may be refused); once the other program has stopped, a save is written — on top of every appended line.
    await store.save(view.datasetId, [{ id: 'img45.jpg', captions: ['edited after the appender stopped'] }]);
    const after = await readFile(file, 'utf8');
    expect(after).toContain('img45.jpg,edited after the appender stopped\n');
    expect(Array.from({ length: appended }, (_, n) => n).filter((n) => !after.includes(`img0.jpg,appended line ${n}\n`))).toEqual([]);
    console.log(`dataset-conflict: ${appended} lines appended, 0 lost; saves: ${outcomes.filter((o) => o === 'saved').length} written, ${outcomes.filter((o) => o === 'conflict').length} conflicts`);
  }, 120_000);
});
