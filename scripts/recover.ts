#!/usr/bin/env -S node --import tsx
// `pgops recover` as a script: point-in-time recovery: lay the base backup before the target down into a new data
// directory, checked file by file, with restore_command and the target set (--start runs it to the target).
// Runbook: runbooks/point-in-time-recovery.md. Options: `scripts/recover.ts --help`, the same as `pgops recover --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['recover']);
