#!/usr/bin/env -S node --import tsx
// `pgops refresh-matviews` as a script: refresh materialized views one at a time, CONCURRENTLY where a unique index
// allows it, with timings (prints the plan; --execute acts).
// Runbook: runbooks/index-bloat.md. Options: `scripts/refresh-matviews.ts --help`, the same as `pgops refresh-matviews --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['refresh-matviews']);
