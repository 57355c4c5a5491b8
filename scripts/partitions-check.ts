#!/usr/bin/env -S node --import tsx
// `pgops partitions check` as a script: Nagios-style check: WARNING when fewer than --ahead future partitions exist,
// CRITICAL when the current period has none.
// Runbook: runbooks/partition-missing.md. Options: `scripts/partitions-check.ts --help`, the same as `pgops partitions check --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['partitions', 'check']);
