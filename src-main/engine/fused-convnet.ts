/**
 * Rewrites a chain-shaped Keras convolutional classifier (MobileNet v1 as a TF.js layers model) into fused tfjs ops:
 * each Conv2D / DepthwiseConv2D with the BatchNormalization after it folded into its filter and bias, and the
 * ReLU6 after that fused into the same kernel (`tf.fused.conv2d` / `tf.fused.depthwiseConv2d`). The layers model
 * runs conv, batch norm and activation as three kernels with two extra full-size tensors each; fused, it is one
 * kernel per convolution (see the encoder bench for the speed-up).
 *
 * Batch-norm folding, per output channel c:  s = γ / √(σ² + ε),  W'[…, c] = W[…, c]·s,  b' = (b − μ)·s + β.
 */
import * as tf from '@tensorflow/tfjs';

type FusedActivation = 'linear' | 'relu' | 'relu6';

interface ConvStep {
  readonly kind: 'conv' | 'depthwise';
  readonly name: string;
  filter: tf.Tensor4D;
  bias: tf.Tensor1D | null;
  readonly strides: [number, number];
  readonly pad: 'same' | 'valid';
  readonly dilations: [number, number];
  activation: FusedActivation;
  /** True once a BatchNormalization or activation has been merged (nothing may be folded after an activation). */
  activated: boolean;
}

/** A convolutional trunk + global average pool + linear classifier, as fused ops. */
export interface FusedConvNet {
  /** Channels of the pooled feature. */
  readonly featureDim: number;
  /** Number of classifier outputs. */
  readonly classes: number;
  /** Number of fused convolution kernels in the trunk. */
  readonly convolutions: number;
  /**
   * Input already in the model's range, [N, H, W, C] → pooled features [N, F] and classifier logits [N, K] (before
   * softmax). Creates intermediate tensors: call it inside `tf.tidy`.
   */
  forward(x: tf.Tensor4D): { features: tf.Tensor2D; logits: tf.Tensor2D };
  /** The last convolution's output [N, h, w, F] (the map `forward` averages into the feature); call it inside `tf.tidy`. */
  featureMap(x: tf.Tensor4D): tf.Tensor4D;
  /** Frees the folded weights. */
  dispose(): void;
}

/**
 * Folds `model` (which is left untouched and may be disposed afterwards). `featureLayer` names the layer whose
 * output is globally averaged into the feature (e.g. 'conv_pw_13_relu'); the layers after the pooling may be
 * Reshape, Dropout, Flatten, a 1×1 Conv2D or Dense (the classifier) and a softmax/linear Activation.
 */
export function fuseLayersModel(model: tf.LayersModel, featureLayer: string): FusedConvNet {
  const steps: ConvStep[] = [];
  let head: { W: tf.Tensor2D; b: tf.Tensor1D | null } | null = null;
  let phase: 'trunk' | 'head' = 'trunk';
  let previous: tf.layers.Layer | null = null;
  try {
    for (const layer of model.layers) {
      const cls = layer.getClassName();
      const cfg = layer.getConfig();
      if (previous && sourceOf(layer) !== previous) throw unsupported(layer, 'the model is not a simple chain of layers');
      previous = layer;
      if (cls === 'InputLayer' || cls === 'Dropout') continue;
      if (phase === 'trunk') {
        switch (cls) {
          case 'Conv2D':
          case 'DepthwiseConv2D':
            steps.push(convStep(layer, cls === 'Conv2D' ? 'conv' : 'depthwise', cfg));
            break;
          case 'BatchNormalization':
            foldBatchNorm(lastStep(steps, layer), layer, cfg);
            break;
          case 'Activation':
          case 'ReLU': {
            const step = lastStep(steps, layer);
            const act = cls === 'ReLU' ? (cfg.maxValue === 6 ? 'relu6' : cfg.maxValue == null ? 'relu' : null) : asFusedActivation(cfg.activation);
            if (act === null || step.activation !== 'linear') throw unsupported(layer, `activation ${String(cfg.activation ?? cfg.maxValue)} cannot be fused here`);
            step.activation = act;
            step.activated = true;
            break;
          }
          case 'GlobalAveragePooling2D':
            if (steps.length === 0) throw unsupported(layer, 'no convolution before the pooling');
            if (sourceOf(layer)?.name !== featureLayer) {
              throw unsupported(layer, `the pooled layer is ${sourceOf(layer)?.name ?? '?'}, expected ${featureLayer}`);
            }
            phase = 'head';
            break;
          default:
            throw unsupported(layer, `layer type ${cls} is not supported in the trunk`);
        }
      } else {
        switch (cls) {
          case 'Reshape':
          case 'Flatten':
            break;
          case 'Conv2D':
          case 'Dense': {
            if (head) throw unsupported(layer, 'more than one classifier layer after the pooling');
            head = denseHead(layer, cls, cfg);
            break;
          }
          case 'Activation':
            if (cfg.activation !== 'softmax' && cfg.activation !== 'linear') throw unsupported(layer, `head activation ${String(cfg.activation)}`);
            break;
          default:
            throw unsupported(layer, `layer type ${cls} is not supported after the pooling`);
        }
      }
    }
    if (phase !== 'head') throw new Error(`fuseLayersModel: no GlobalAveragePooling2D after ${featureLayer}`);
    if (!head) throw new Error('fuseLayersModel: no classifier after the pooling');
  } catch (err) {
    for (const s of steps) tf.dispose([s.filter, ...(s.bias ? [s.bias] : [])]);
    if (head) tf.dispose([head.W, ...(head.b ? [head.b] : [])]);
    throw err;
  }
  const classifier: { W: tf.Tensor2D; b: tf.Tensor1D | null } = head;
  const last = steps[steps.length - 1]!;
  const trunk = (x: tf.Tensor4D): tf.Tensor4D => {
    let y: tf.Tensor4D = x;
    for (const s of steps) {
      const args = { x: y, filter: s.filter, strides: s.strides, pad: s.pad, dilations: s.dilations, activation: s.activation, ...(s.bias ? { bias: s.bias } : {}) };
      y = s.kind === 'conv' ? tf.fused.conv2d(args) : tf.fused.depthwiseConv2d(args);
    }
    return y;
  };
  const featureDim = last.kind === 'conv' ? last.filter.shape[3] : last.filter.shape[2] * last.filter.shape[3];
  return {
    featureDim,
    classes: classifier.W.shape[1],
    convolutions: steps.length,
    featureMap: trunk,
    forward(x: tf.Tensor4D) {
      const y = trunk(x);
      const features = tf.mean(y, [1, 2]) as tf.Tensor2D;
      const logits = tf.fused.matMul({ a: features, b: classifier.W, ...(classifier.b ? { bias: classifier.b } : {}) }) as tf.Tensor2D;
      return { features, logits };
    },
    dispose() {
      for (const s of steps) tf.dispose([s.filter, ...(s.bias ? [s.bias] : [])]);
      tf.dispose([classifier.W, ...(classifier.b ? [classifier.b] : [])]);
    },
  };
}

function convStep(layer: tf.layers.Layer, kind: ConvStep['kind'], cfg: tf.serialization.ConfigDict): ConvStep {
  if (cfg.dataFormat !== 'channelsLast') throw unsupported(layer, `data format ${String(cfg.dataFormat)}`);
  if (cfg.padding !== 'same' && cfg.padding !== 'valid') throw unsupported(layer, `padding ${String(cfg.padding)}`);
  const act = asFusedActivation(cfg.activation);
  if (act === null) throw unsupported(layer, `activation ${String(cfg.activation)}`);
  const weights = namedWeights(layer);
  const filter = weights.get(kind === 'conv' ? 'kernel' : 'depthwise_kernel');
  if (!filter || filter.rank !== 4) throw unsupported(layer, 'no 4-D kernel');
  return {
    kind,
    name: layer.name,
    filter: tf.clone(filter) as tf.Tensor4D,
    bias: cfg.useBias ? (tf.clone(weights.get('bias')!) as tf.Tensor1D) : null,
    strides: pair(cfg.strides, layer),
    pad: cfg.padding,
    dilations: pair(cfg.dilationRate, layer),
    activation: act,
    activated: act !== 'linear',
  };
}

function foldBatchNorm(step: ConvStep, layer: tf.layers.Layer, cfg: tf.serialization.ConfigDict): void {
  if (step.activated) throw unsupported(layer, `batch norm after the activation of ${step.name} cannot be folded`);
  if (cfg.axis !== -1 && cfg.axis !== 3) throw unsupported(layer, `batch norm axis ${String(cfg.axis)}`);
  const w = namedWeights(layer);
  const mean = w.get('moving_mean');
  const variance = w.get('moving_variance');
  if (!mean || !variance) throw unsupported(layer, 'batch norm without moving statistics');
  const epsilon = typeof cfg.epsilon === 'number' ? cfg.epsilon : 1e-3;
  const [filter, bias] = tf.tidy(() => {
    const gamma = w.get('gamma') ?? tf.onesLike(mean);
    const beta = w.get('beta') ?? tf.zerosLike(mean);
    const s = tf.div(gamma, tf.sqrt(tf.add(variance, epsilon))) as tf.Tensor1D;
    const f = step.filter;
    const scaled = step.kind === 'conv' ? tf.mul(f, s) : tf.mul(f, tf.reshape(s, [f.shape[2], f.shape[3]]));
    const b0 = step.bias ?? tf.zerosLike(mean);
    const b = tf.add(tf.mul(tf.sub(b0, mean), s), beta);
    return [scaled as tf.Tensor4D, b as tf.Tensor1D];
  });
  tf.dispose([step.filter, ...(step.bias ? [step.bias] : [])]);
  step.filter = filter;
  step.bias = bias;
  step.activated = false;
}

function denseHead(layer: tf.layers.Layer, cls: string, cfg: tf.serialization.ConfigDict): { W: tf.Tensor2D; b: tf.Tensor1D | null } {
  const w = namedWeights(layer);
  const kernel = w.get('kernel');
  if (!kernel) throw unsupported(layer, 'no kernel');
  if (cls === 'Conv2D' && (kernel.shape[0] !== 1 || kernel.shape[1] !== 1)) throw unsupported(layer, 'classifier convolution is not 1×1');
  if (asFusedActivation(cfg.activation) !== 'linear') throw unsupported(layer, `classifier activation ${String(cfg.activation)}`);
  const units = kernel.shape[kernel.rank - 1]!;
  const W = tf.reshape(kernel, [kernel.size / units, units]) as tf.Tensor2D;
  return { W, b: cfg.useBias ? (tf.clone(w.get('bias')!) as tf.Tensor1D) : null };
}

/** The layer's weights keyed by the last part of their names ('kernel', 'gamma', 'moving_mean'…). */
function namedWeights(layer: tf.layers.Layer): Map<string, tf.Tensor> {
  const values = layer.getWeights();
  const map = new Map<string, tf.Tensor>();
  layer.weights.forEach((v, i) => map.set(v.originalName.split('/').pop()!, values[i]!));
  return map;
}

function sourceOf(layer: tf.layers.Layer): tf.layers.Layer | null {
  if (layer.inboundNodes.length === 0) return null;
  const input = layer.input;
  if (Array.isArray(input)) return null;
  return input.sourceLayer as tf.layers.Layer;
}

function lastStep(steps: ConvStep[], layer: tf.layers.Layer): ConvStep {
  const step = steps[steps.length - 1];
  if (!step) throw unsupported(layer, 'no convolution before it');
  return step;
}

function asFusedActivation(a: unknown): FusedActivation | null {
  if (a === undefined || a === null || a === 'linear') return 'linear';
  return a === 'relu' || a === 'relu6' ? a : null;
}

function pair(v: unknown, layer: tf.layers.Layer): [number, number] {
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number') return [v[0], v[1]];
  if (typeof v === 'number') return [v, v];
  throw unsupported(layer, `expected a pair of numbers, got ${JSON.stringify(v)}`);
}

function unsupported(layer: tf.layers.Layer, why: string): Error {
  return new Error(`fuseLayersModel: layer ${layer.name}: ${why}`);
}
