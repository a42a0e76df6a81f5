/**
 * One image worker: its own wasm backend, its own copy of the image encoder and, when the pool was given one, of
 * the caption model. It encodes the images it is sent (224×224×3 RGB pixels) — features and ImageNet tags — or
 * captions them (encode, then beam search), and answers in the order it was asked. See encoder-pool.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { initBackend } from '../backend.ts';
import type { CaptionModel } from '../caption-model.ts';
import { captionFeaturesAsync, type CaptionOptions, type CaptionResult } from '../captioner.ts';
import { loadEncoder, type EncoderSpec, type ImageTag } from '../encoder.ts';
import { modelFromTransfer, type TransferredModel } from './model-transfer.ts';

export interface EncoderWorkerInit {
  readonly spec: EncoderSpec;
  /** The caption model, for 'caption' requests. */
  readonly model?: TransferredModel;
}

/** How a worker captions: ImageNet tags per image and the decoding settings (the encoder id is the worker's). */
export interface WorkerCaptionOptions {
  readonly topK: number;
  readonly caption: Omit<CaptionOptions, 'encoderId'>;
}

/** One image's captions and tags. */
export interface WorkerCaption {
  readonly tags: readonly ImageTag[];
  readonly result: CaptionResult;
}

export type ToEncoderWorker =
  | { readonly type: 'encode'; readonly pixels: readonly Uint8Array[]; readonly topK: number }
  | ({ readonly type: 'caption'; readonly pixels: readonly Uint8Array[] } & WorkerCaptionOptions);
export type FromEncoderWorker =
  | { readonly type: 'ready'; readonly id: string; readonly featureDim: number }
  | { readonly type: 'encoded'; readonly features: readonly Float32Array[]; readonly tags: readonly (readonly ImageTag[])[] }
  | { readonly type: 'captioned'; readonly captions: readonly WorkerCaption[] }
  | { readonly type: 'error'; readonly message: string };

const port = parentPort;
if (!port) throw new Error('engine/parallel/encoder-worker.ts must run in a worker thread');
const post = (m: FromEncoderWorker): void => port.postMessage(m);
const firstLine = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

try {
  await initBackend({ prefer: 'wasm' });
  const init = workerData as EncoderWorkerInit;
  const encoder = await loadEncoder(init.spec);
  const model: CaptionModel | null = init.model ? modelFromTransfer(init.model) : null;
  const answer = async (msg: ToEncoderWorker): Promise<FromEncoderWorker> => {
    const encoded = await encoder.encode(msg.pixels, { topK: msg.topK });
    if (msg.type === 'encode') return { type: 'encoded', features: encoded.features, tags: encoded.tags };
    if (!model) throw new Error('this worker was started without a caption model');
    const results = await captionFeaturesAsync(model, encoded.features, { ...msg.caption, encoderId: encoder.id });
    return { type: 'captioned', captions: results.map((result, k) => ({ tags: encoded.tags[k] ?? [], result })) };
  };
  // One request at a time, so the answers come back in the order the requests came.
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (msg: ToEncoderWorker) => {
    queue = queue.then(() => answer(msg).then(post, (err: unknown) => post({ type: 'error', message: firstLine(err) })));
  });
  post({ type: 'ready', id: encoder.id, featureDim: encoder.featureDim });
} catch (err) {
  post({ type: 'error', message: firstLine(err) });
}
