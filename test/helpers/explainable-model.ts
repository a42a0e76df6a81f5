/**
 * A hand-built "a red square" model (test/services/fixtures.ts's fixed-caption model) whose word "red" depends
 * on the image: a small image term on the output gate of the unit that writes it (whose bias holds it shut), so
 * p(red) — and its Grad-CAM map — grows with MobileNet's activations, while "a" and "square" stay image-free.
 */
import * as tf from '@tensorflow/tfjs';
import { saveBundle } from '../../src-main/engine/bundle.ts';
import { disposeCaptionModel } from '../../src-main/engine/caption-model.ts';
import { fixedCaptionModel } from '../services/fixtures.ts';

export async function writeExplainableBundle(dir: string, name = 'Explainable red square'): Promise<string> {
  if (tf.getBackend() !== 'cpu') await tf.setBackend('cpu');
  const model = fixedCaptionModel(['a', 'red', 'square'], name);
  try {
    const H = model.config.hiddenDim;
    const F = model.config.featureDim;
    const red = model.vocab.id('red');
    const Wv = new Float32Array(F * 4 * H);
    for (let f = 0; f < F; f++) Wv[f * 4 * H + 3 * H + red] = 0.02; // output gate (index 3) of the "red" unit
    const b = model.weights.b.dataSync().slice();
    b[3 * H + red] = -8;
    tf.tidy(() => {
      model.weights.W_v.assign(tf.tensor2d(Wv, [F, 4 * H]));
      model.weights.b.assign(tf.tensor1d(b));
    });
    await saveBundle(dir, model);
  } finally {
    disposeCaptionModel(model);
  }
  return dir;
}
