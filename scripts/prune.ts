#!/usr/bin/env -S node --import tsx
// `pgops prune` as a script: apply grandfather-father-son retention to the backup sets (prints the plan; --execute
// deletes).
// Runbook: runbooks/backup.md. Options: `scripts/prune.ts --help`, the same as `pgops prune --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['prune']);
