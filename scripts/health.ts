#!/usr/bin/env -S node --import tsx
// `pgops health` as a script: Nagios-style health report: connections, cache hit ratio, long transactions, lock
// waits, slow statements, unused indexes, sizes, dead tuples, wraparound.
// Runbook: runbooks/connections-exhausted.md. Options: `scripts/health.ts --help`, the same as `pgops health --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['health']);
