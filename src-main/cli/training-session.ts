/**
 * What the CLI's training commands (`train`, `compare`) set up around a run: Ctrl-C as a cancel that lets the run
 * write its checkpoint (a second Ctrl-C quits at once), and the image encoder with — on wasm with several workers —
 * a pool that computes uncached features on every core (its threads start only when something is uncached).
 */
import { currentBackend } from '../engine/backend.ts';
import { bundledEncoderSpec, loadEncoder, type BundledEncoderName, type ImageEncoder } from '../engine/encoder.ts';
import { EncoderPool } from '../engine/parallel/encoder-pool.ts';
import { note, type GlobalOptions } from './options.ts';

/** Aborts `signal` at the first Ctrl-C (after printing `message()`), exits 130 at the second; `release` unhooks it. */
export function cancelOnSigint(opts: GlobalOptions, message: () => string): { readonly signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    note(opts, message());
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  return { signal: controller.signal, release: () => process.off('SIGINT', onSigint) };
}

/** The bundled encoder, and a feature pool of `workers` threads where that helps; `close` frees both. */
export async function openTrainingEncoder(opts: { readonly encoder: BundledEncoderName; readonly workers: number }): Promise<{
  readonly encoder: ImageEncoder;
  readonly pool: EncoderPool | null;
  close(): Promise<void>;
}> {
  const encoder = await loadEncoder(bundledEncoderSpec(opts.encoder));
  const pool = opts.workers > 1 && currentBackend()?.tfjsBackend === 'wasm' ? new EncoderPool(bundledEncoderSpec(opts.encoder), opts.workers, encoder.id, encoder.featureDim) : null;
  return {
    encoder,
    pool,
    close: async () => {
      await pool?.close();
      encoder.dispose();
    },
  };
}
