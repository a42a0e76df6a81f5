// Development entry of the job worker: registers the TypeScript loader in this thread, then runs worker.ts.
// (The packaged app runs the bundled job-worker.js instead.)
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
