#!/usr/bin/env -S node --import tsx
// `pgops status` as a script: Nagios-style check: age of the newest complete backup and of the newest passing drill.
// Runbook: runbooks/backup-failed.md. Options: `scripts/status.ts --help`, the same as `pgops status --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['status']);
