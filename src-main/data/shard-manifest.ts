/**
 * The manifest a sharded export (`export … --shard i/n --out FILE`) writes beside its output as FILE.shard.json:
 * which shard it is, a fingerprint and count of the whole input list, the export options, and its rows, each with
 * its index in the whole list. `mergeShards` checks that a set of manifests is exactly the n shards of one input
 * list (none missing, none twice, disjoint rows) and returns every row in the order one unsharded run produces
 * them, so `exportCaptions` writes byte for byte the file that run would have written.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/atomic-write.ts';
import { formatShard, type ShardSpec } from '../util/shard.ts';
import { EXPORT_FORMATS, type ExportFormat, type ExportRow } from './export.ts';

export const SHARD_MANIFEST_SUFFIX = '.shard.json';

export interface ShardManifest {
  readonly version: 1;
  readonly shard: ShardSpec;
  /** Inputs in the whole list, and a fingerprint of it (util/shard.ts). */
  readonly total: number;
  readonly inputs: string;
  readonly format: ExportFormat;
  readonly bom: boolean;
  /** The rows this shard exported, with their index in the whole input list (increasing). */
  readonly rows: readonly { readonly index: number; readonly row: ExportRow }[];
}

const rowSchema = z.object({
  path: z.string(),
  caption: z.string(),
  score: z.number().nullable().optional(),
  model: z.string().optional(),
  references: z.array(z.string()).optional(),
  imageId: z.union([z.number(), z.string()]).optional(),
});

const manifestSchema = z.object({
  version: z.literal(1),
  shard: z.object({ index: z.int().min(0), count: z.int().min(1) }),
  total: z.int().min(0),
  inputs: z.string(),
  format: z.enum(EXPORT_FORMATS),
  bom: z.boolean(),
  rows: z.array(z.object({ index: z.int().min(0), row: rowSchema })),
});

/** The manifest file of an export output. */
export function manifestPathOf(output: string): string {
  return path.resolve(output) + SHARD_MANIFEST_SUFFIX;
}

export async function writeShardManifest(output: string, manifest: ShardManifest): Promise<void> {
  await writeFileAtomic(manifestPathOf(output), `${JSON.stringify(manifest)}\n`);
}

/** Reads the manifest of a shard output (or the manifest file itself); one-line Error naming the file. */
export async function readShardManifest(output: string): Promise<ShardManifest> {
  const file = output.endsWith(SHARD_MANIFEST_SUFFIX) ? path.resolve(output) : manifestPathOf(output);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${file}: not found (is ${output} the output of an export with --shard?)` : `${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${file}: not valid JSON`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: not a shard manifest (${issue.path.join('.') || 'root'}: ${issue.message})`);
  }
  return parsed.data as ShardManifest;
}

/** All rows of a complete set of shards, in the whole list's order, and the export options they share. */
export function mergeShards(
  manifests: readonly { readonly name: string; readonly manifest: ShardManifest }[],
): { rows: ExportRow[]; format: ExportFormat; bom: boolean } {
  if (manifests.length === 0) throw new Error('merge: no shard outputs given');
  const first = manifests[0]!;
  const { count } = first.manifest.shard;
  const byIndex = new Map<number, string>();
  for (const { name, manifest: m } of manifests) {
    for (const [field, same] of [
      ['shard count', m.shard.count === count],
      ['input list', m.inputs === first.manifest.inputs && m.total === first.manifest.total],
      ['format', m.format === first.manifest.format && m.bom === first.manifest.bom],
    ] as const) {
      if (!same) throw new Error(`merge: ${name} has another ${field} than ${first.name}`);
    }
    const twice = byIndex.get(m.shard.index);
    if (twice !== undefined) throw new Error(`merge: ${name} and ${twice} are both shard ${formatShard(m.shard)}`);
    byIndex.set(m.shard.index, name);
  }
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length) throw new Error(`merge: missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')}`);
  const seen = new Map<number, string>();
  const all: { index: number; row: ExportRow }[] = [];
  for (const { name, manifest } of manifests) {
    for (const r of manifest.rows) {
      const other = seen.get(r.index);
      if (other !== undefined) throw new Error(`merge: input ${r.index} (${r.row.path}) is in both ${other} and ${name}`);
      seen.set(r.index, name);
      all.push(r);
    }
  }
  all.sort((a, b) => a.index - b.index);
  return { rows: all.map((r) => r.row), format: first.manifest.format, bom: first.manifest.bom };
}
