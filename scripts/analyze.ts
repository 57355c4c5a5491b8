#!/usr/bin/env -S node --import tsx
// `pgops analyze` as a script: ANALYZE the tables changed past their autovacuum analyze threshold or never analyzed,
// and stale partitioned parents (prints the plan; --execute acts).
// Runbook: runbooks/analyze.md. Options: `scripts/analyze.ts --help`, the same as `pgops analyze --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['analyze']);
