/**
 * The user's settings, kept as `settings.json` in the user data folder: read once (a missing or damaged file
 * gives the defaults), updated with validated patches and written back atomically.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { settingsPatchSchema, threadCountSchema } from '../contract/schemas.ts';
import { BACKEND_CHOICES, THEMES, type Settings } from '../contract/types.ts';
import { writeFileAtomic } from '../util/atomic-write.ts';

/** What a fresh install starts with. */
export const DEFAULT_SETTINGS: Settings = {
  backend: 'auto', // the fastest backend that starts
  beamSize: 3, // show-and-tell used 3; wider rarely helps small models
  maxLength: 20, // words; enough for any caption these models write
  theme: 'system', // follow the OS light/dark preference
  modelId: null, // the shipped default model
  trainWorkers: null, // one training thread per core
  captionWorkers: null, // one caption thread per core
};

const storedSchema = z.object({
  backend: z.enum(BACKEND_CHOICES).catch(DEFAULT_SETTINGS.backend),
  beamSize: z.int().min(1).max(20).catch(DEFAULT_SETTINGS.beamSize),
  maxLength: z.int().min(2).max(60).catch(DEFAULT_SETTINGS.maxLength),
  theme: z.enum(THEMES).catch(DEFAULT_SETTINGS.theme),
  modelId: z.string().min(1).nullable().catch(DEFAULT_SETTINGS.modelId),
  trainWorkers: threadCountSchema.catch(DEFAULT_SETTINGS.trainWorkers),
  captionWorkers: threadCountSchema.catch(DEFAULT_SETTINGS.captionWorkers),
});

export type SettingsPatch = z.output<typeof settingsPatchSchema>;

/** Holds the settings in memory and on disk. */
export class SettingsStore {
  private current: Settings = DEFAULT_SETTINGS;
  /** Set when the stored file could not be used (shown once in the log). */
  warning: string | null = null;

  private constructor(readonly file: string) {}

  /** Reads `<dir>/settings.json`; unknown or invalid fields fall back to their defaults. */
  static async open(dir: string): Promise<SettingsStore> {
    const store = new SettingsStore(path.join(dir, 'settings.json'));
    let text: string | null = null;
    try {
      text = await readFile(store.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') store.warning = `${store.file}: cannot read (${(err as Error).message}); using defaults`;
    }
    if (text !== null) {
      try {
        store.current = storedSchema.parse({ ...DEFAULT_SETTINGS, ...(JSON.parse(text) as object) });
      } catch (err) {
        store.warning = `${store.file}: not valid JSON (${(err as Error).message.split('\n')[0]}); using defaults`;
      }
    }
    return store;
  }

  get(): Settings {
    return this.current;
  }

  /** Applies a validated patch and saves; returns the new settings. */
  async update(patch: SettingsPatch): Promise<Settings> {
    const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
    const next: Settings = { ...this.current, ...(defined as Partial<Settings>) };
    await writeFileAtomic(this.file, JSON.stringify(next, null, 2) + '\n');
    this.current = next;
    return next;
  }
}
