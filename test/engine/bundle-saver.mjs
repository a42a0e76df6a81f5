// Child process of bundle-kill.test.ts: installs two bundles over one model folder in turn, as fast as it can
// (saveBundle and copyBundle alternately), until it is killed. Prints "ready" once the first install is done.
//   node test/engine/bundle-saver.mjs <target> <bundle A> <bundle B>
import { register } from 'tsx/esm/api';

register();
const tf = await import('@tensorflow/tfjs');
await tf.setBackend('cpu');
const { copyBundle, loadBundle, saveBundle } = await import('../../src-main/engine/bundle.ts');
const [target, a, b] = process.argv.slice(2);
const sources = [a, b];
const models = [await loadBundle(a), await loadBundle(b)];
for (let i = 0; ; i++) {
  if (i % 2 === 0) await saveBundle(target, models[(i / 2) % 2]);
  else await copyBundle(sources[((i - 1) / 2) % 2], target);
  if (i === 0) process.stdout.write('ready\n');
}
