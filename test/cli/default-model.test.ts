/**
 * `npx caption-studio caption assets/samples/` on a fresh clone: with no --model the CLI uses the shipped
 * `models/default` bundle and captions every sample picture. Skipped only while that bundle is not in the tree
 * (it is trained separately on real data).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isImageName } from '../../src-main/data/formats/common.ts';
import { REPO_ROOT, runCli, tempDir } from './cli-fixtures.ts';

// The CLI reads bundled models from CAPTION_STUDIO_MODELS_DIR when set (the children inherit it), else models/.
const DEFAULT_MODEL = path.join(process.env.CAPTION_STUDIO_MODELS_DIR ?? path.join(REPO_ROOT, 'models'), 'default', 'model.json');
const SAMPLES = path.join(REPO_ROOT, 'assets', 'samples');

interface CaptionLine {
  readonly path: string;
  readonly caption?: string;
  readonly score?: number;
  readonly alternatives?: unknown[];
  readonly tags?: { label: string; score: number }[];
  readonly error?: string;
}

async function samplePictures(): Promise<string[]> {
  return (await readdir(SAMPLES)).filter(isImageName).sort().map((name) => path.join(SAMPLES, name));
}

describe('caption with the default model', () => {
  it.skipIf(!existsSync(DEFAULT_MODEL))('captions every sample picture, as the README says, from the repository root', async () => {
    const samples = await samplePictures();
    expect(samples.length).toBeGreaterThan(0);
    const r = await runCli(['caption', 'assets/samples/', '--json']);
    expect(r.stderr).not.toMatch(/^caption-studio:/m);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as CaptionLine);
    expect(lines.map((l) => l.path)).toEqual(samples);
    for (const line of lines) {
      expect(line.error, line.path).toBeUndefined();
      expect(line.caption!.trim().split(/\s+/).length, line.path).toBeGreaterThanOrEqual(2);
      expect(line.caption).not.toContain('<unk>');
      expect(line.score).toBeLessThanOrEqual(0);
      expect(line.alternatives).toHaveLength(2);
      // Up to 5 tags, none under 1 % (a real photograph's best tag is well above it).
      expect(line.tags!.length).toBeGreaterThanOrEqual(1);
      expect(line.tags!.length).toBeLessThanOrEqual(5);
      for (const tag of line.tags!) expect(tag.score).toBeGreaterThanOrEqual(0.01);
    }
  });

  it('says so in one line when no --model is given and no default model is installed', async () => {
    const { dir, cleanup } = await tempDir('cs-cli-no-models-');
    try {
      const r = await runCli(['caption', SAMPLES, '--json'], { env: { CAPTION_STUDIO_MODELS_DIR: dir } });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `caption-studio: no --model given and the default model is not installed (no ${path.join(dir, 'default', 'model.json')}); pass --model DIR\n`,
      );
    } finally {
      await cleanup();
    }
  });

  it.skipIf(!existsSync(DEFAULT_MODEL))('finds the default model from any working folder, and prints text without --json', async () => {
    const { dir, cleanup } = await tempDir('cs-cli-default-');
    try {
      const samples = await samplePictures();
      const r = await runCli(['caption', SAMPLES, '--quiet'], { cwd: dir });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      const out = r.stdout.split('\n');
      for (const sample of samples) {
        const at = out.indexOf(sample);
        expect(at, sample).toBeGreaterThanOrEqual(0);
        expect(out[at + 1]).toMatch(/^ {2}\S.* {2}\(-?\d+\.\d{3}\)$/);
      }
    } finally {
      await cleanup();
    }
  });
});

describe('the shipped model\'s record', () => {
  it.skipIf(!existsSync(DEFAULT_MODEL))('has a readable name and no path of the machine that trained it', async () => {
    const meta = JSON.parse(await readFile(DEFAULT_MODEL, 'utf8')) as { name: string; provenance?: Record<string, unknown> };
    // A name a newcomer reads in the model picker, not a run's slug such as "coco1" or "coco-mobilenet-v2".
    expect(meta.name).toMatch(/ /);
    expect(meta.name).not.toMatch(/^[a-z0-9-]+$/);
    for (const [key, value] of Object.entries(meta.provenance ?? {})) {
      if (typeof value !== 'string') continue;
      expect(value, key).not.toMatch(/(^|\s)\/(tmp|home|work|Users|root)\//);
    }
  });
});
