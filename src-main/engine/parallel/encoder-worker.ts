/**
 * One feature-extraction worker: its own wasm backend and its own copy of the image encoder; encodes the images it
 * is sent (224×224×3 RGB pixels) and returns their feature vectors in order. See encoder-pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend.ts';
import { loadEncoder, type EncoderSpec } from '../encoder.ts';

export type ToEncoderWorker = { readonly type: 'encode'; readonly pixels: readonly Uint8Array[] };
export type FromEncoderWorker =
  | { readonly type: 'ready'; readonly id: string; readonly featureDim: number }
  | { readonly type: 'encoded'; readonly features: readonly Float32Array[] }
  | { readonly type: 'error'; readonly message: string };

const port = parentPort;
if (!port) throw new Error('engine/parallel/encoder-worker.ts must run in a worker thread');
const post = (m: FromEncoderWorker): void => port.postMessage(m);

try {
  await initBackend({ prefer: 'wasm' });
  const encoder = await loadEncoder(workerData as EncoderSpec);
  port.on('message', (msg: ToEncoderWorker) => {
    encoder.encode(msg.pixels, { topK: 0 }).then(
      (r) => post({ type: 'encoded', features: r.features }),
      (err: unknown) => post({ type: 'error', message: (err as Error).message.split('\n')[0]! }),
    );
  });
  post({ type: 'ready', id: encoder.id, featureDim: encoder.featureDim });
} catch (err) {
  post({ type: 'error', message: (err as Error).message.split('\n')[0]! });
}
