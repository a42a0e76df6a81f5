import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // tfjs backends are process-global; one file per worker process keeps them isolated.
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
