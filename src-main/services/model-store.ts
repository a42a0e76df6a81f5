/**
 * The caption models the app knows: bundles shipped in the package's `models/` folder (read-only) and the user's
 * own in `<user data>/models/` (trained here or imported). A model's id is its folder name; ids are unique across
 * both places because new user folders never take a name already in use.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ModelSummary } from '../contract/types.ts';
import { BUNDLE_MODEL_FILE, BUNDLE_WEIGHTS_FILE, readBundleInfo } from '../engine/bundle.ts';
import { conflict, notFound, ServiceError } from '../contract/errors.ts';
import { pathExists } from '../util/path-exists.ts';

/** A folder name made from a user-given model name: lower case letters, digits, '-', at most 60 characters. */
export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60);
  return slug || 'model';
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) {
    const st = await stat(path.join(dir, name));
    if (st.isFile()) total += st.size;
  }
  return total;
}

export class ModelStore {
  constructor(
    /** The package's models folder (holds `default/` and `encoders/`). */
    readonly builtinDir: string,
    /** The user's models folder. */
    readonly userDir: string,
    /** Training runs' folders (`<id>/` each): their ids are taken too, so a model never lands where a run installs. */
    readonly runsDir: string,
  ) {}

  /** Every readable bundle, shipped ones first; unreadable folders are skipped. */
  async list(): Promise<ModelSummary[]> {
    const out: ModelSummary[] = [];
    const seen = new Set<string>();
    for (const [root, builtin] of [
      [this.builtinDir, true],
      [this.userDir, false],
    ] as const) {
      let names: string[];
      try {
        names = (await readdir(root)).sort();
      } catch {
        continue;
      }
      for (const name of names) {
        if (seen.has(name) || name.startsWith('.') || name === 'encoders') continue;
        const dir = path.join(root, name);
        if (!(await pathExists(path.join(dir, BUNDLE_MODEL_FILE)))) continue;
        try {
          out.push(await this.summarize(name, dir, builtin));
          seen.add(name);
        } catch {
          // not a bundle we can read: left out of the list
        }
      }
    }
    // The shipped default first, then the rest newest first.
    return out.sort((a, b) => (a.id === 'default' ? -1 : b.id === 'default' ? 1 : (b.createdAt ?? '').localeCompare(a.createdAt ?? '')));
  }

  /** The summary of one model (throws not-found). */
  async get(id: string): Promise<ModelSummary> {
    const found = (await this.list()).find((m) => m.id === id);
    if (!found) throw notFound(`no model with id "${id}"`);
    return found;
  }

  /** The model to use when none is named: the given id, else 'default', else the newest. */
  async resolve(id: string | null | undefined): Promise<ModelSummary> {
    const models = await this.list();
    if (id) {
      const found = models.find((m) => m.id === id);
      if (!found) throw notFound(`no model with id "${id}"`);
      return found;
    }
    const first = models[0];
    if (!first) throw notFound('no caption model is installed: train one in the Train view or import a bundle in Models');
    return first;
  }

  /**
   * A fresh id and folder (not created) in the user's models dir for a model called `name`: the name made safe,
   * numbered when a model or a training run already has that id.
   */
  async newModelDir(name: string): Promise<{ id: string; dir: string }> {
    const base = slugify(name);
    const taken = new Set((await this.list()).map((m) => m.id));
    for (let n = 1; ; n++) {
      const id = n === 1 ? base : `${base}-${n}`;
      const dir = path.join(this.userDir, id);
      if (!taken.has(id) && !(await pathExists(dir)) && !(await pathExists(path.join(this.runsDir, id)))) return { id, dir };
    }
  }

  /** The folder of the user model `id` (which may not exist yet). */
  dirOf(id: string): string {
    return path.join(this.userDir, id);
  }

  /** Copies a bundle folder into the user's models after checking it reads and its weights match their hash. */
  async import(source: string): Promise<ModelSummary> {
    const dir = path.resolve(source);
    const modelFile = path.join(dir, BUNDLE_MODEL_FILE);
    if (!(await pathExists(modelFile))) throw new ServiceError(`${dir}: not a model bundle (no ${BUNDLE_MODEL_FILE})`, 'validation');
    const info = await readBundleInfo(dir);
    await verifyWeights(dir);
    const target = await this.newModelDir(info.name ?? path.basename(dir));
    await mkdir(this.userDir, { recursive: true });
    // The one install path (pipeline/install-model.ts), loaded only here: listing models needs no tfjs.
    const { importModel } = await import('../pipeline/install-model.ts');
    await importModel(dir, target.dir);
    return this.summarize(target.id, target.dir, false);
  }

  /** Copies a model's bundle into `dest` (a new or empty folder); returns the folder. */
  async export(id: string, dest: string): Promise<string> {
    const model = await this.get(id);
    const target = path.resolve(dest);
    if (await pathExists(target)) {
      const entries = await readdir(target).catch(() => null);
      if (entries === null) throw conflict(`${target}: exists and is not a folder`);
      if (entries.length > 0) throw conflict(`${target}: folder is not empty`);
    }
    await mkdir(target, { recursive: true });
    for (const file of [BUNDLE_MODEL_FILE, BUNDLE_WEIGHTS_FILE]) await cp(path.join(model.dir, file), path.join(target, file));
    return target;
  }

  /** Deletes a user model (shipped ones cannot be deleted). */
  async delete(id: string): Promise<void> {
    const model = await this.get(id);
    if (model.builtin) throw conflict(`model "${id}" ships with the app and cannot be deleted`);
    await rm(model.dir, { recursive: true, force: true });
  }

  private async summarize(id: string, dir: string, builtin: boolean): Promise<ModelSummary> {
    const info = await readBundleInfo(dir);
    const meta = info.metadata;
    const training: Record<string, string | number> = {};
    const prov = meta.provenance ?? {};
    for (const [key, value] of Object.entries(prov)) {
      if (typeof value === 'number') training[key] = value;
      // A shipped model's absolute paths name folders of the machine that trained it: show the data's own name.
      else if (typeof value === 'string') training[key] = builtin && path.isAbsolute(value) ? shippedPath(value) : value;
    }
    const t = meta.training;
    if (t) {
      training.epochs = t.history.length;
      training.batchSize = t.config.batchSize;
      training.schedule = t.schedule.type;
      training.stoppedBy = t.stoppedBy;
    }
    return {
      id,
      name: info.name ?? meta.name ?? id,
      builtin,
      dir,
      createdAt: meta.createdAt ?? null,
      encoderId: info.encoderId,
      vocabSize: info.vocabularySize,
      hiddenDim: info.config.hiddenDim,
      sizeBytes: await folderBytes(dir),
      metrics: { ...(meta.metrics ?? {}) },
      training,
    };
  }
}

/** Checks weights.bin against the SHA-256 recorded in model.json (when it records one). */
async function verifyWeights(dir: string): Promise<void> {
  const json = JSON.parse(await readFile(path.join(dir, BUNDLE_MODEL_FILE), 'utf8')) as { weightsSha256?: unknown };
  const weightsPath = path.join(dir, BUNDLE_WEIGHTS_FILE);
  const bytes = await readFile(weightsPath).catch(() => {
    throw new ServiceError(`${weightsPath}: missing`, 'validation');
  });
  if (typeof json.weightsSha256 === 'string') {
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== json.weightsSha256) throw new ServiceError(`${weightsPath}: damaged (SHA-256 does not match model.json)`, 'validation');
  }
}

/** `/somewhere/data/coco/captions.json` → `…/coco/captions.json`: the dataset's own name without the builder's folders. */
function shippedPath(value: string): string {
  const parts = value.split(/[\\/]+/).filter(Boolean);
  return parts.length <= 2 ? value : `…/${parts.slice(-2).join('/')}`;
}
