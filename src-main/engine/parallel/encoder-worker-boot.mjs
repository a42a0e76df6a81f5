// Development entry of a feature-extraction worker: registers the TypeScript loader in this thread, then runs
// encoder-worker.ts. (The packaged app runs the bundled encoder-worker.js instead.)
import { register } from 'tsx/esm/api';

register();
await import('./encoder-worker.ts');
