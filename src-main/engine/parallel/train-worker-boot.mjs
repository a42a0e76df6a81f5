// Development entry of a data-parallel training worker: registers the TypeScript loader in this thread, then runs
// train-worker.ts. (The packaged app runs the bundled train-worker.js instead.)
import { register } from 'tsx/esm/api';

register();
await import('./train-worker.ts');
