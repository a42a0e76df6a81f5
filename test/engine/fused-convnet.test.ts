import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src-main/engine/backend.ts';
import { fuseLayersModel } from '../../src-main/engine/fused-convnet.ts';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

/** Gives every batch-norm layer non-trivial statistics so that folding them is really exercised. */
function randomiseBatchNorms(model: tf.LayersModel, seed: number): void {
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'BatchNormalization') continue;
    const n = layer.getWeights()[0]!.shape[0]!;
    layer.setWeights([
      tf.randomUniform([n], 0.5, 2, 'float32', seed++), // gamma
      tf.randomUniform([n], -1, 1, 'float32', seed++), // beta
      tf.randomUniform([n], -0.5, 0.5, 'float32', seed++), // moving mean
      tf.randomUniform([n], 0.2, 3, 'float32', seed++), // moving variance
    ]);
  }
}

/** conv(bias) → BN → relu6 → depthwise(×2, no bias) → BN → ReLU(max 6) → GAP → dense → softmax. */
function toyModel(): { model: tf.Sequential; featureLayer: string } {
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [9, 9, 3], filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: true, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), biasInitializer: tf.initializers.randomUniform({ seed: 2 }) }));
  model.add(tf.layers.batchNormalization({ epsilon: 1e-3 }));
  model.add(tf.layers.activation({ activation: 'relu6' }));
  model.add(tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'valid', useBias: false, depthwiseInitializer: tf.initializers.glorotUniform({ seed: 3 }) }));
  model.add(tf.layers.batchNormalization({ epsilon: 1e-3 }));
  const relu = tf.layers.reLU({ maxValue: 6 });
  model.add(relu);
  model.add(tf.layers.globalAveragePooling2d({}));
  model.add(tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }), biasInitializer: tf.initializers.randomUniform({ seed: 5 }) }));
  model.add(tf.layers.activation({ activation: 'softmax' }));
  randomiseBatchNorms(model, 10);
  return { model, featureLayer: relu.name };
}

describe('fuseLayersModel', () => {
  it('computes what the layers model computes: pooled features and softmax(logits) = its output', async () => {
    const { model, featureLayer } = toyModel();
    const net = fuseLayersModel(model, featureLayer);
    expect([net.featureDim, net.classes, net.convolutions]).toEqual([8, 5, 2]);
    const x = tf.randomUniform([3, 9, 9, 3], -1, 1, 'float32', 99) as tf.Tensor4D;
    const pooled = tf.model({ inputs: model.inputs, outputs: model.getLayer(featureLayer).output as tf.SymbolicTensor });
    const expectedFeatures = tf.tidy(() => tf.mean(pooled.predict(x) as tf.Tensor4D, [1, 2]));
    const expectedProbs = model.predict(x) as tf.Tensor;
    const before = tf.memory().numTensors;
    const [features, probs] = tf.tidy(() => {
      const out = net.forward(x);
      return [out.features, tf.softmax(out.logits)];
    });
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(features!.shape).toEqual([3, 8]);
    const fd = await tf.max(tf.abs(tf.sub(features!, expectedFeatures))).data();
    const pd = await tf.max(tf.abs(tf.sub(probs!, expectedProbs))).data();
    expect(fd[0]).toBeLessThan(1e-5);
    expect(pd[0]).toBeLessThan(1e-6);
    // The fused net owns copies: disposing the layers model does not affect it, and dispose frees its weights.
    const count = tf.memory().numTensors;
    model.dispose();
    const again = tf.tidy(() => net.forward(x).features);
    expect(await tf.max(tf.abs(tf.sub(again, features!))).data()).toEqual(new Float32Array([0]));
    net.dispose();
    expect(tf.memory().numTensors).toBeLessThan(count);
    tf.dispose([x, expectedFeatures, expectedProbs, features!, probs!, again]);
  });

  it('refuses a layer it cannot fuse, naming it', () => {
    const model = tf.sequential();
    model.add(tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 2, kernelSize: 3, name: 'stem' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }));
    model.add(tf.layers.globalAveragePooling2d({}));
    model.add(tf.layers.dense({ units: 3 }));
    const before = tf.memory().numTensors;
    expect(() => fuseLayersModel(model, 'pool')).toThrow('fuseLayersModel: layer pool: layer type MaxPooling2D is not supported in the trunk');
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
