import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // two cores: integration files start their own clusters; more than two files at once only thrash
    maxWorkers: 2,
    reporters: ['default'],
  },
});
