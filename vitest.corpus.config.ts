import { defineConfig } from 'vitest/config';

// The corpus suite: pgops on real-world databases built once and cached (test/corpus/README.md). npm run test:corpus
// builds the cache first, so the hook timeout only has to cover a cold build when vitest is run on its own.
export default defineConfig({
  test: {
    include: ['test/corpus/**/*.test.ts'],
    // one test restores or drills some 600 tables; the whole suite may take ten minutes on two cores
    testTimeout: 600_000,
    hookTimeout: 900_000,
    pool: 'forks',
    // each file copies a cached cluster and starts a second one: one file at a time on two cores
    maxWorkers: 1,
    reporters: ['default'],
  },
});
