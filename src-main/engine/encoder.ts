/**
 * The image encoder: 224×224 RGB pixels (from `data/images`) → a feature vector per image (the `v` the decoder
 * injects) plus the top ImageNet tags, in one forward pass.
 *
 * Two kinds of model folder (see models/encoders/SOURCE.md):
 *  - 'graph': a TF-Hub MobileNet as a TF.js graph model (the format @tensorflow-models/mobilenet loads), read
 *    with `tf.loadGraphModel`. One `execute` per batch gives both the feature node (MobileNet v2 1.0: the 1280-d
 *    `Logits/AvgPool`, the default encoder; v1 0.25: the 256-d `global_pool`) and the 1001 logits, whose output 0
 *    (background) is dropped by `labelOffset`. The graph takes pixels in [0, 1] and rescales to [-1, 1] itself.
 *  - 'layers': a Keras MobileNet as a TF.js layers model (v1 0.75, which the first shipped models were trained
 *    on). The feature is the global average of `featureNode` (default `conv_pw_13_relu`, 768-d); the classifier
 *    on top gives the tags. By default the model is rewritten into fused ops with batch norm folded
 *    (`fused-convnet.ts`; same numbers to ~1e-5, ~2.5× faster on wasm); `fused: false` runs it as loaded.
 * Each encoder has a stable `id` naming the weights, the feature and the image pipeline; features, caches and
 * bundles record it and `assertSameEncoder` refuses to mix them.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { IMAGE_SIZE, RESIZE_POLICY } from '../data/images.ts';
import { modelsDir } from '../util/paths.ts';
import { currentBackend, initBackend } from './backend.ts';
import { fuseLayersModel, type FusedConvNet } from './fused-convnet.ts';
import { fileModelHandler, readModelJson } from './model-files.ts';

export type EncoderKind = 'layers' | 'graph';

/** Where an encoder's files are and how to run them. */
export interface EncoderSpec {
  readonly kind: EncoderKind;
  /** Folder holding model.json, its weight shards and metadata.json (`{labels: string[], labelOffset?: number}`). */
  readonly dir: string;
  /** layers: the layer whose global average is the feature (default `conv_pw_13_relu`); graph: the feature node. */
  readonly featureNode?: string;
  /** graph kind: the node holding the class logits (default: the model's output). */
  readonly logitsNode?: string;
  /** The range pixel values 0–255 are mapped to. Default: layers [-1, 1]; graph [0, 1] (the TF-Hub graph rescales). */
  readonly inputRange?: readonly [number, number];
  /** layers kind: fold batch norm and fuse activations (default true). */
  readonly fused?: boolean;
  /** Most images per forward pass; larger batches are split (default 16). */
  readonly maxBatch?: number;
}

/** One ImageNet class the encoder sees in an image. */
export interface ImageTag {
  /** The first name of the class, e.g. "golden retriever". */
  readonly label: string;
  /** Softmax probability, 0–1. */
  readonly score: number;
  /** Index into `ImageEncoder.labels`. */
  readonly classIndex: number;
}

/** Features and tags for a batch, in input order. */
export interface EncodedBatch {
  /** One Float32Array of `featureDim` values per image. */
  readonly features: Float32Array[];
  /** Top-k tags per image, best first (empty lists when topK is 0). */
  readonly tags: ImageTag[][];
}

/** Which tags `encode` returns. */
export interface EncodeOptions {
  /** Most tags per image (default 5; 0 for none). */
  readonly topK?: number;
  /** Tags less probable than this are left out (default `MIN_TAG_SCORE`, 1 %: a 0.0 % tag says nothing). */
  readonly minScore?: number;
}

/** The least probability a tag must have to be shown. */
export const MIN_TAG_SCORE = 0.01;

export interface ImageEncoder {
  /** Stable identity of weights + feature + image pipeline, e.g. 'mobilenet_v1_0.75_224/gap_conv_pw_13/fill224'. */
  readonly id: string;
  readonly kind: EncoderKind;
  /** Length of each feature vector. */
  readonly featureDim: number;
  /** Side of the square input (224). */
  readonly inputSize: number;
  /** The full ImageNet class names, in class-index order. */
  readonly labels: readonly string[];
  /**
   * Encodes images given as `inputSize`² × 3 RGB byte arrays (from `loadImage`) or as one [N, size, size, 3]
   * tensor of pixel values 0–255 (not disposed). Leaves no tensors behind.
   */
  encode(batch: readonly Uint8Array[] | tf.Tensor4D, opts?: EncodeOptions): Promise<EncodedBatch>;
  /**
   * The forward pass on a [N, size, size, 3] tensor of pixel values 0–255: features [N, F] and class
   * probabilities [N, labels.length]. The caller owns (disposes) both; intermediates are tidied.
   */
  infer(pixels: tf.Tensor4D): { features: tf.Tensor2D; probs: tf.Tensor2D };
  /**
   * The last convolutional feature map [N, h, w, F] of pixels 0–255 shaped [N, size, size, 3] — the map whose
   * spatial mean is the feature (MobileNet v2: `Conv_1` 7×7×1280; v1 0.75: `conv_pw_13` 7×7×768). The caller
   * owns the result; intermediates are tidied. Grad-CAM (explain.ts) starts from it.
   */
  featureMap(pixels: tf.Tensor4D): tf.Tensor4D;
  /** Frees the weights. */
  dispose(): void;
}

/** The encoders shipped in models/encoders, by folder name: their kind and (graph kind) feature and logits nodes. */
export const BUNDLED_ENCODERS = {
  'mobilenet_v2_1.0_224': {
    kind: 'graph',
    featureNode: 'module_apply_default/MobilenetV2/Logits/AvgPool',
    logitsNode: 'module_apply_default/MobilenetV2/Logits/output',
  },
  'mobilenet_v1_0.75_224': { kind: 'layers' },
  'mobilenet_v1_0.25_224_graph': {
    kind: 'graph',
    featureNode: 'module_apply_default/MobilenetV1/Logits/global_pool',
    logitsNode: 'module_apply_default/MobilenetV1/Logits/SpatialSqueeze',
  },
} as const satisfies Record<string, Omit<EncoderSpec, 'dir'>>;
export type BundledEncoderName = keyof typeof BUNDLED_ENCODERS;

/** The encoder new models are trained with: MobileNet v2 1.0 (1280-d features). */
export const DEFAULT_ENCODER: BundledEncoderName = 'mobilenet_v2_1.0_224';

/** The default encoder's spec (see `DEFAULT_ENCODER`). */
export function defaultEncoderSpec(): EncoderSpec {
  return bundledEncoderSpec(DEFAULT_ENCODER);
}

/** A bundled encoder by folder name, resolved under `modelsDir()/encoders` (env `CAPTION_STUDIO_MODELS_DIR`). */
export function bundledEncoderSpec(name: BundledEncoderName): EncoderSpec {
  return { ...BUNDLED_ENCODERS[name], dir: path.join(modelsDir(), 'encoders', name) };
}

/** Whether `name` is the folder name of a bundled encoder (for command-line and settings choices). */
export function isBundledEncoderName(name: string): name is BundledEncoderName {
  return Object.hasOwn(BUNDLED_ENCODERS, name);
}

/** The id `loadEncoder(spec)` will give, without loading anything. */
export function encoderId(spec: EncoderSpec): string {
  const node = featureNodeOf(spec);
  const feature = spec.kind === 'layers' ? `gap_${node.replace(/_relu6?$/, '')}` : node.split('/').pop()!;
  return `${path.basename(path.resolve(spec.dir))}/${feature}/${RESIZE_POLICY}${IMAGE_SIZE}`;
}

/** Throws a one-line error when features made by encoder `actual` are about to meet a model expecting `expected`. */
export function assertSameEncoder(expected: string, actual: string, context: string): void {
  if (expected !== actual) {
    throw new Error(`${context}: encoder mismatch: expected features from ${expected}, got ${actual} (re-extract features with the model's encoder)`);
  }
}

/** The feature node of a spec: its own, else the MobileNet v1 default of its kind. */
function featureNodeOf(spec: EncoderSpec): string {
  return spec.featureNode ?? (spec.kind === 'layers' ? 'conv_pw_13_relu' : 'module_apply_default/MobilenetV1/Logits/global_pool');
}

/** Loads an encoder (starting the default tfjs backend first if none has been chosen) and warms it up. */
export async function loadEncoder(spec: EncoderSpec = defaultEncoderSpec()): Promise<ImageEncoder> {
  if (!currentBackend()) await initBackend();
  const modelJson = path.join(spec.dir, 'model.json');
  const { labels, labelOffset } = await readLabels(path.join(spec.dir, 'metadata.json'));
  const inputRange = spec.inputRange ?? (spec.kind === 'layers' ? [-1, 1] : [0, 1]);
  const maxBatch = Math.max(1, Math.floor(spec.maxBatch ?? 16));
  const node = featureNodeOf(spec);
  const forward =
    spec.kind === 'layers' ? await layersForward(modelJson, node, spec.fused ?? true) : await graphForward(modelJson, node, spec.logitsNode);
  if (forward.classes !== labels.length + labelOffset) {
    forward.dispose();
    throw new Error(`${spec.dir}: the model has ${forward.classes} outputs but metadata.json lists ${labels.length} labels with offset ${labelOffset}`);
  }
  const size = IMAGE_SIZE;
  const scale = (inputRange[1] - inputRange[0]) / 255;
  const shift = inputRange[0];

  const infer = (pixels: tf.Tensor4D): { features: tf.Tensor2D; probs: tf.Tensor2D } =>
    tf.tidy(() => {
      checkShape(pixels.shape, size);
      const x = tf.add(tf.mul(tf.cast(pixels, 'float32'), scale), shift) as tf.Tensor4D;
      const { features, logits } = forward.run(x);
      const classLogits = labelOffset > 0 ? tf.slice(logits, [0, labelOffset], [-1, labels.length]) : logits;
      return { features, probs: tf.softmax(classLogits) as tf.Tensor2D };
    });

  const encoder: ImageEncoder = {
    id: encoderId(spec),
    kind: spec.kind,
    featureDim: forward.featureDim,
    inputSize: size,
    labels,
    infer,
    featureMap: (pixels) =>
      tf.tidy(() => {
        checkShape(pixels.shape, size);
        return forward.runMap(tf.add(tf.mul(tf.cast(pixels, 'float32'), scale), shift) as tf.Tensor4D);
      }),
    async encode(batch, opts = {}) {
      const topK = Math.max(0, Math.min(labels.length, Math.floor(opts.topK ?? 5)));
      const minScore = opts.minScore ?? MIN_TAG_SCORE;
      const n = batch instanceof tf.Tensor ? batch.shape[0] : batch.length;
      if (batch instanceof tf.Tensor) checkShape(batch.shape, size);
      const features: Float32Array[] = [];
      const tags: ImageTag[][] = [];
      for (let start = 0; start < n; start += maxBatch) {
        const count = Math.min(maxBatch, n - start);
        const pixels: tf.Tensor4D =
          batch instanceof tf.Tensor ? tf.slice(batch, [start, 0, 0, 0], [count, -1, -1, -1]) : pixelsToTensor(batch.slice(start, start + count), size, start);
        let out: { features: tf.Tensor2D; probs: tf.Tensor2D } | undefined;
        try {
          out = infer(pixels);
          const f = await out.features.data();
          const p = topK > 0 ? await out.probs.data() : null;
          const F = forward.featureDim;
          for (let i = 0; i < count; i++) {
            features.push(Float32Array.from(f.subarray(i * F, (i + 1) * F)));
            tags.push(p ? topTags(p.subarray(i * labels.length, (i + 1) * labels.length), labels, topK).filter((t) => t.score >= minScore) : []);
          }
        } finally {
          tf.dispose([pixels, ...(out ? [out.features, out.probs] : [])]);
        }
      }
      return { features, tags };
    },
    dispose() {
      forward.dispose();
    },
  };

  // Warm-up: the first run compiles kernels and allocates; do it now rather than on the user's first image.
  const zeros = tf.zeros([1, size, size, 3]) as tf.Tensor4D;
  const warm = infer(zeros);
  await warm.probs.data();
  tf.dispose([zeros, warm.features, warm.probs]);
  return encoder;
}

/** The forward pass of one model kind on input already in its range. */
interface Forward {
  readonly featureDim: number;
  readonly classes: number;
  run(x: tf.Tensor4D): { features: tf.Tensor2D; logits: tf.Tensor2D };
  /** The map the feature is the spatial mean of, [N, h, w, F]. */
  runMap(x: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

async function layersForward(modelJson: string, featureNode: string, fused: boolean): Promise<Forward> {
  await readModelJson(modelJson); // clear one-line errors for a missing or malformed file
  const model = await tf.loadLayersModel(fileModelHandler(modelJson));
  if (fused) {
    let net: FusedConvNet;
    try {
      net = fuseLayersModel(model, featureNode);
    } finally {
      model.dispose();
    }
    return { featureDim: net.featureDim, classes: net.classes, run: (x) => net.forward(x), runMap: (x) => net.featureMap(x), dispose: () => net.dispose() };
  }
  const featureLayer = model.layers.find((l) => l.getClassName() === 'GlobalAveragePooling2D' && (l.input as tf.SymbolicTensor).sourceLayer.name === featureNode);
  if (!featureLayer) {
    model.dispose();
    throw new Error(`${modelJson}: no global average pooling of layer ${featureNode}`);
  }
  const probsOut = model.outputs[0]!;
  const two = tf.model({ inputs: model.inputs, outputs: [featureLayer.output as tf.SymbolicTensor, probsOut] });
  const mapModel = tf.model({ inputs: model.inputs, outputs: featureLayer.input as tf.SymbolicTensor });
  const featureDim = (featureLayer.output as tf.SymbolicTensor).shape[1]!;
  const classes = probsOut.shape[probsOut.shape.length - 1]!;
  return {
    featureDim,
    classes,
    run: (x) => {
      const [features, probs] = two.predict(x) as tf.Tensor[];
      // The layers model ends in a softmax; log turns it back into logits up to a constant, which softmax ignores.
      return { features: features as tf.Tensor2D, logits: tf.log(tf.maximum(probs as tf.Tensor2D, 1e-30)) as tf.Tensor2D };
    },
    runMap: (x) => mapModel.predict(x) as tf.Tensor4D,
    dispose: () => model.dispose(),
  };
}

/**
 * A TF-Hub MobileNet graph model (`tf.loadGraphModel` from local files). One `execute` per batch computes the
 * trunk once and returns both the feature node (pooled, [N, 1, 1, F] or [N, F]) and the logits node (default:
 * the model's output).
 */
async function graphForward(modelJson: string, featureNode: string, logitsNode: string | undefined): Promise<Forward> {
  const json = await readModelJson(modelJson);
  const graphNodes = (json.modelTopology as { node?: { name: string; input?: string[] }[] }).node ?? [];
  const nodes = new Set(graphNodes.map((n) => n.name));
  for (const node of [featureNode, ...(logitsNode ? [logitsNode] : [])]) {
    if (!nodes.has(node)) throw new Error(`${modelJson}: the graph has no node ${node}`);
  }
  // The pooling node's input is the last convolutional map (MobileNet v2: Conv_1/Relu6, 7×7×1280).
  const mapNode = graphNodes.find((n) => n.name === featureNode)?.input?.[0];
  const model = await tf.loadGraphModel(fileModelHandler(modelJson));
  const logitsName = logitsNode ?? model.outputNodes[0]!;
  const run = (x: tf.Tensor4D): { features: tf.Tensor2D; logits: tf.Tensor2D } =>
    tf.tidy(() => {
      const [pooled, logits] = model.execute(x, [featureNode, logitsName]) as tf.Tensor[];
      const n = x.shape[0];
      return { features: tf.reshape(pooled!, [n, -1]) as tf.Tensor2D, logits: tf.reshape(logits!, [n, -1]) as tf.Tensor2D };
    });
  const probe = tf.tidy(() => {
    const { features, logits } = run(tf.zeros([1, IMAGE_SIZE, IMAGE_SIZE, 3]));
    return [features.shape[1], logits.shape[1]];
  });
  const runMap = (x: tf.Tensor4D): tf.Tensor4D => {
    if (!mapNode) throw new Error(`${modelJson}: the feature node ${featureNode} has no input map`);
    return tf.tidy(() => {
      const map = model.execute(x, mapNode) as tf.Tensor;
      if (map.rank !== 4) throw new Error(`${modelJson}: ${mapNode} is not a [N, h, w, C] map (shape [${map.shape.join(', ')}])`);
      return map as tf.Tensor4D;
    });
  };
  return { featureDim: probe[0]!, classes: probe[1]!, run, runMap, dispose: () => model.dispose() };
}

async function readLabels(file: string): Promise<{ labels: string[]; labelOffset: number }> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: cannot read the encoder's labels (${(err as Error).message.split('\n')[0]})`);
  }
  const m = json as { labels?: unknown; labelOffset?: unknown } | null;
  if (!m || !Array.isArray(m.labels) || !m.labels.every((l) => typeof l === 'string')) {
    throw new Error(`${file}: expected {"labels": [string, …]}`);
  }
  const labelOffset = m.labelOffset === undefined ? 0 : m.labelOffset;
  if (typeof labelOffset !== 'number' || !Number.isInteger(labelOffset) || labelOffset < 0) throw new Error(`${file}: labelOffset must be a non-negative integer`);
  return { labels: m.labels as string[], labelOffset };
}

function pixelsToTensor(images: readonly Uint8Array[], size: number, firstIndex: number): tf.Tensor4D {
  const per = size * size * 3;
  const data = new Int32Array(images.length * per);
  images.forEach((img, i) => {
    if (img.length !== per) throw new Error(`encode: image ${firstIndex + i} has ${img.length} bytes, expected ${per} (${size}×${size} RGB)`);
    data.set(img, i * per);
  });
  return tf.tensor4d(data, [images.length, size, size, 3], 'int32');
}

function checkShape(shape: readonly number[], size: number): void {
  if (shape.length !== 4 || shape[1] !== size || shape[2] !== size || shape[3] !== 3) {
    throw new Error(`encode: expected pixels shaped [N, ${size}, ${size}, 3], got [${shape.join(', ')}]`);
  }
}

function topTags(probs: ArrayLike<number>, labels: readonly string[], k: number): ImageTag[] {
  // Keep the k best in a small sorted list: O(classes · k) with k ≈ 5.
  const best: { i: number; p: number }[] = [];
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i]!;
    if (best.length === k && p <= best[k - 1]!.p) continue;
    let j = best.length < k ? best.length : k - 1;
    while (j > 0 && best[j - 1]!.p < p) j--;
    best.splice(j, 0, { i, p });
    if (best.length > k) best.pop();
  }
  return best.map(({ i, p }) => ({ label: labels[i]!.split(',')[0]!.trim(), score: p, classIndex: i }));
}
