/**
 * `npm run bench:ucm`: trains on UCM-Captions (../shared/data/ucm, Karpathy split JSON) and scores the model on
 * its val split with the COCO caption metrics, beside the nearest-neighbour baseline. The epoch is chosen on a
 * seeded 10% of the train split, so the val split stays unseen until the final evaluation. Reference captions
 * keep their repeats, as the published UCM-Captions figures count them. Prints JSON lines on stdout.
 *
 *   npm run bench:ucm -- [--epochs 15] [--hidden 512] [--seed 1] [--out DIR]
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { assignSplits, loadDataset } from '../data/dataset.ts';
import { currentBackend, initBackend } from '../engine/backend.ts';
import { disposeCaptionModel } from '../engine/caption-model.ts';
import { defaultEncoderSpec, loadEncoder } from '../engine/encoder.ts';
import { train } from '../engine/train.ts';
import { evaluateModel, evaluateNearestNeighbour } from '../pipeline/evaluate.ts';
import { featuresOf, toTrainImages } from '../pipeline/training-data.ts';
import { packageRoot } from '../util/paths.ts';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '15' },
    hidden: { type: 'string', default: '512' },
    'min-count': { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string' },
    data: { type: 'string', default: path.join(packageRoot(), '..', 'shared', 'data', 'ucm', 'dataset.json') },
  },
});

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const emit = (obj: object): void => void process.stdout.write(`${JSON.stringify(obj)}\n`);
const round = (m: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Math.round(v * 1e4) / 1e4]));

if (!existsSync(values.data)) {
  emit({ bench: 'ucm', skipped: `${values.data} not found` });
  process.exit(0);
}
await initBackend();
const seed = Number(values.seed);
const dataset = await loadDataset(values.data, { keepDuplicateCaptions: true });
const trainSplit = assignSplits(
  { ...dataset, items: dataset.items.filter((i) => i.split === 'train'), splits: { kind: 'none' } },
  { seed, valFraction: 0.1, testFraction: 0 },
);
const testItems = dataset.items.filter((i) => i.split === 'val');
const encoder = await loadEncoder(defaultEncoderSpec());
const started = performance.now();
const trainFeatured = (await featuresOf(trainSplit.items, encoder, { onProgress: (e) => e.done === e.total && log(`features: ${e.done} train images`) })).featured;
const testFeatured = (await featuresOf(testItems, encoder)).featured;
const isVal = (id: string): boolean => trainSplit.items.find((i) => i.id === id)?.split === 'val';
const runDir = values.out ?? (await mkdtemp(path.join(os.tmpdir(), 'ucm-run-')));
log(`training on ${trainFeatured.length} images (${trainFeatured.filter((f) => isVal(f.item.id)).length} held out for model selection), testing on ${testFeatured.length}`);
const result = await train({
  data: {
    encoderId: encoder.id,
    featureDim: encoder.featureDim,
    train: toTrainImages(trainFeatured.filter((f) => !isVal(f.item.id))),
    val: toTrainImages(trainFeatured.filter((f) => isVal(f.item.id))),
  },
  config: { epochs: Number(values.epochs), hiddenDim: Number(values.hidden), minWordCount: Number(values['min-count']), seed },
  runDir,
  overwrite: true,
  name: 'ucm-captions',
  onEpoch: (e) => log(`epoch ${e.epoch}: train loss ${e.trainLoss.toFixed(3)}, val loss ${e.valLoss?.toFixed(3)}, BLEU-4 ${e.bleu4?.toFixed(3)}, CIDEr-D ${e.ciderD?.toFixed(3)}`),
});
const trainSeconds = (performance.now() - started) / 1000;
const model = evaluateModel(result.model, encoder.id, testFeatured, { beamSize: 3 });
const baseline = evaluateNearestNeighbour(trainFeatured, testFeatured);
const common = { bench: 'ucm', backend: currentBackend()?.backend, split: 'val', images: model.images };
emit({ ...common, method: 'lstm (beam 3)', bestEpoch: result.best?.epoch, trainSeconds: Math.round(trainSeconds), ...round({ ...model.metrics }) });
emit({ ...common, method: 'nearest-neighbour', ...round({ ...baseline.metrics }) });
disposeCaptionModel(result.model);
encoder.dispose();
if (!values.out) await rm(runDir, { recursive: true, force: true });
