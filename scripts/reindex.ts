#!/usr/bin/env -S node --import tsx
// `pgops reindex` as a script: drop leftovers of failed concurrent rebuilds, then rebuild bloated, invalid or named
// indexes with REINDEX INDEX CONCURRENTLY (prints the plan; --execute acts).
// Runbook: runbooks/index-bloat.md. Options: `scripts/reindex.ts --help`, the same as `pgops reindex --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['reindex']);
