#!/usr/bin/env -S node --import tsx
// `pgops partitions prune` as a script: detach (or --drop) the partitions older than the --keep periods before the
// current one, never the newest; --archive dumps each first (prints the plan; --execute acts).
// Runbook: runbooks/partitions.md. Options: `scripts/partitions-prune.ts --help`, the same as `pgops partitions prune --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['partitions', 'prune']);
