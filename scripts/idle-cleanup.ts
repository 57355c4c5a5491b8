#!/usr/bin/env -S node --import tsx
// `pgops idle-cleanup` as a script: terminate client sessions idle, or idle in a transaction, for longer than the
// limits (prints the plan; --execute terminates).
// Runbook: runbooks/connections-exhausted.md. Options: `scripts/idle-cleanup.ts --help`, the same as `pgops idle-cleanup --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['idle-cleanup']);
