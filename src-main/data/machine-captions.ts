/**
 * Which captions of a dataset a model wrote and nobody has accepted yet. The marks live in a small hidden JSON file
 * beside the dataset's own files, so no dataset format is changed and they survive a save and a reload:
 * `<folder>/.caption-studio-machine.json` for a folder of sidecar captions, `.<file name>.machine.json` beside a
 * single-file dataset (CSV, COCO, Karpathy, Flickr8k). Hidden names are skipped by format detection and the
 * sidecar reader. A mark is keyed by image id and the caption's exact text: a caption edited by hand no longer
 * matches its mark and counts as the user's own.
 *
 *   { "format": "caption-studio-machine-captions", "version": 1, "items": { "<image id>": ["<caption>", …] } }
 *
 * `loadDataset` leaves marked captions out (training, evaluation, stats and convert see only human references);
 * the dataset editor reads them with the marks and shows them as machine-written until accepted.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic-write.ts';
import type { Dataset, DatasetItem } from './dataset-types.ts';

const FORMAT = 'caption-studio-machine-captions';

const marksFileSchema = z.object({
  format: z.literal(FORMAT),
  version: z.literal(1),
  items: z.record(z.string(), z.array(z.string())),
});

/** Machine-written caption texts by image id. */
export type MachineMarks = Map<string, readonly string[]>;

/** Where the marks of the dataset read from `source` (a folder for sidecar captions, else a file) are kept. */
export function machineMarksPath(dataset: Pick<Dataset, 'format' | 'source'>): string {
  return dataset.format === 'sidecar' ? path.join(dataset.source, '.caption-studio-machine.json') : path.join(path.dirname(dataset.source), `.${path.basename(dataset.source)}.machine.json`);
}

/** The marks of a dataset (none when the file is absent); a file that cannot be understood is a one-line error. */
export async function readMachineMarks(dataset: Pick<Dataset, 'format' | 'source'>): Promise<MachineMarks> {
  const file = machineMarksPath(dataset);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw new Error(`${file}: cannot read the machine-caption marks: ${err instanceof Error ? err.message : String(err)}`);
  }
  let parsed: z.infer<typeof marksFileSchema>;
  try {
    parsed = marksFileSchema.parse(JSON.parse(text));
  } catch {
    throw new Error(`${file}: not a machine-caption marks file (expected {"format":"${FORMAT}","version":1,"items":{…}}); move it away to read the dataset`);
  }
  return new Map(Object.entries(parsed.items).filter(([, captions]) => captions.length > 0));
}

/** Writes the marks atomically (the file is removed when nothing is marked). */
export async function writeMachineMarks(dataset: Pick<Dataset, 'format' | 'source'>, marks: MachineMarks): Promise<void> {
  const file = machineMarksPath(dataset);
  const items: Record<string, readonly string[]> = {};
  for (const id of [...marks.keys()].sort()) if (marks.get(id)!.length) items[id] = marks.get(id)!;
  if (Object.keys(items).length === 0) await rm(file, { force: true });
  else await writeFileAtomic(file, `${JSON.stringify({ format: FORMAT, version: 1, items }, null, 1)}\n`);
}

/** The marks that still name a caption of their item (a caption edited or deleted since is no longer marked). */
export function liveMarks(items: readonly DatasetItem[], marks: MachineMarks): MachineMarks {
  const out: MachineMarks = new Map();
  if (marks.size === 0) return out;
  for (const item of items) {
    const marked = marks.get(item.id);
    if (!marked) continue;
    const live = item.captions.filter((c) => marked.includes(c));
    if (live.length) out.set(item.id, live);
  }
  return out;
}

/** The dataset without its machine-written captions (an image left with none is uncaptioned). */
export function withoutMachineCaptions(dataset: Dataset, marks: MachineMarks): Dataset {
  if (marks.size === 0) return dataset;
  const items = dataset.items.map((item): DatasetItem => {
    const marked = marks.get(item.id);
    return marked ? { ...item, captions: item.captions.filter((c) => !marked.includes(c)) } : item;
  });
  return { ...dataset, items };
}
