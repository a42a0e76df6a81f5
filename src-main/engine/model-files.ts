/**
 * Loads TF.js models (layers or graph) from a folder on disk: a tfjs IOHandler that reads `model.json` and its
 * weight shards with node:fs, so `tf.loadLayersModel` / `tf.loadGraphModel` work in Node and in Electron's main
 * process without a file:// fetch or tfjs-node.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** An IOHandler whose `load()` reads `modelJsonPath` and the weight files it names (relative to its folder). */
export function fileModelHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    load: async () => {
      const modelJson = await readModelJson(modelJsonPath);
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const shard of group.paths) {
            const file = path.join(path.dirname(modelJsonPath), shard);
            let data: Buffer;
            try {
              data = await readFile(file);
            } catch (err) {
              throw new Error(`${file}: cannot read weight shard named in ${path.basename(modelJsonPath)} (${(err as Error).message.split('\n')[0]})`);
            }
            buffers.push(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
          }
        }
        const weightData = tf.io.concatenateArrayBuffers(buffers);
        const expected = specs.reduce((sum, s) => sum + s.shape.reduce((a, b) => a * b, 1) * bytesPerElement(s), 0);
        if (Number.isFinite(expected) && weightData.byteLength !== expected) {
          throw new Error(`${modelJsonPath}: weight shards hold ${weightData.byteLength} bytes, the manifest describes ${expected}`);
        }
        return [specs, weightData];
      });
    },
  };
}

/** Reads and checks a TF.js `model.json`; errors name the file. */
export async function readModelJson(modelJsonPath: string): Promise<tf.io.ModelJSON> {
  let text: string;
  try {
    text = await readFile(modelJsonPath, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new Error(`${modelJsonPath}: ${code === 'ENOENT' ? 'model file not found' : `cannot read (${(err as Error).message.split('\n')[0]})`}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${modelJsonPath}: not valid JSON (${(err as Error).message.split('\n')[0]})`);
  }
  const m = json as Partial<tf.io.ModelJSON> | null;
  if (!m || typeof m !== 'object' || m.modelTopology === undefined || !Array.isArray(m.weightsManifest)) {
    throw new Error(`${modelJsonPath}: not a TF.js model.json (needs modelTopology and weightsManifest)`);
  }
  return m as tf.io.ModelJSON;
}

function bytesPerElement(spec: tf.io.WeightsManifestEntry): number {
  if (spec.quantization) {
    const q = spec.quantization.dtype;
    return q === 'uint8' ? 1 : q === 'uint16' || q === 'float16' ? 2 : 4;
  }
  return spec.dtype === 'bool' ? 1 : spec.dtype === 'string' ? Number.NaN : 4;
}
