import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // the corpus suite needs a cached build and minutes: npm run test:corpus runs it (vitest.corpus.config.ts)
    // the slow runbook drills run in npm run runbook-drills (vitest.drills.config.ts), the fast ones here too
    exclude: [...configDefaults.exclude, 'test/corpus/**', 'test/drills/slow/**'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // two cores: integration files start their own clusters; more than two files at once only thrash
    maxWorkers: 2,
    reporters: ['default'],
  },
});
