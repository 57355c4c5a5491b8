#!/usr/bin/env -S node --import tsx
// `pgops backups list` as a script: list the backup sets in a repository, newest first.
// Runbook: runbooks/backup-failed.md. Options: `scripts/backups-list.ts --help`, the same as `pgops backups list --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['backups', 'list']);
