import { defineConfig } from 'vitest/config';

// The runbook drills, fast and slow (test/drills/, test/drills/slow/): npm run runbook-drills runs them through
// tools/runbook-drill/run-all.ts, which then writes the result table. The fast ones also run in npm test.
export default defineConfig({
  test: {
    include: ['test/drills/**/*.drill.test.ts'],
    // a drill recovers a cluster or restores a set; a slow one may take minutes on two cores
    testTimeout: 600_000,
    hookTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
