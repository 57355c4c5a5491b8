#!/usr/bin/env -S node --import tsx
// `pgops partitions create` as a script: create the partitions of the current and the next --ahead periods of
// range-partitioned tables, with the parent's owner and privileges (prints the plan; --execute creates).
// Runbook: runbooks/partition-missing.md. Options: `scripts/partitions-create.ts --help`, the same as `pgops partitions create --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['partitions', 'create']);
