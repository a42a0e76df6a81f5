/**
 * A caption model as plain data a worker thread can be sent (structured clone): decoder config, vocabulary, encoder
 * id, metadata and every weight as float32 values. The worker rebuilds the same model (same numbers), so a model
 * that only lives in memory (not saved as a bundle) can be used by a pool too.
 */
import * as tf from '@tensorflow/tfjs';
import type { CaptionModel, ModelMetadata } from '../caption-model.ts';
import { decoderWeightShapes } from '../decoder.ts';
import { DECODER_WEIGHT_NAMES, type DecoderConfig, type DecoderWeightName, type DecoderWeights } from '../model-types.ts';
import { Vocabulary, type VocabularyJson } from '../vocab.ts';

export interface TransferredModel {
  readonly config: DecoderConfig;
  readonly vocab: VocabularyJson;
  readonly encoderId: string;
  /** Only what messages name the model by (no training history). */
  readonly metadata: Pick<ModelMetadata, 'name' | 'createdAt'>;
  readonly source?: string;
  readonly weights: Readonly<Record<DecoderWeightName, Float32Array>>;
}

/** Reads the model's weights into plain arrays (the model is left as it is). */
export async function transferableModel(model: CaptionModel): Promise<TransferredModel> {
  const weights = {} as Record<DecoderWeightName, Float32Array>;
  for (const name of DECODER_WEIGHT_NAMES) weights[name] = (await model.weights[name].data()) as Float32Array;
  return {
    config: model.config,
    vocab: model.vocab.toJSON(),
    encoderId: model.encoderId,
    metadata: { createdAt: model.metadata.createdAt, ...(model.metadata.name !== undefined ? { name: model.metadata.name } : {}) },
    ...(model.source !== undefined ? { source: model.source } : {}),
    weights,
  };
}

/** The model back as weight variables (free them with `disposeCaptionModel`). */
export function modelFromTransfer(t: TransferredModel): CaptionModel {
  const shapes = decoderWeightShapes(t.config);
  const weights = {} as Record<DecoderWeightName, tf.Variable>;
  for (const name of DECODER_WEIGHT_NAMES) {
    const values = tf.tensor(t.weights[name], shapes[name], 'float32');
    weights[name] = tf.variable(values, false);
    values.dispose();
  }
  return {
    config: t.config,
    vocab: Vocabulary.fromJSON(t.vocab, `${t.source ?? 'model'}: vocabulary`),
    weights: weights as DecoderWeights,
    encoderId: t.encoderId,
    metadata: t.metadata,
    ...(t.source !== undefined ? { source: t.source } : {}),
  };
}
