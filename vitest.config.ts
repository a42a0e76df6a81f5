import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // tfjs backends are process-global; one file per worker process keeps them isolated.
    pool: 'forks',
    // Builds the renderer and the Electron bundles once, before the files that load them start.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
