#!/usr/bin/env -S node --import tsx
// `pgops backup` as a script: dump one database with pg_dump, streamed into the repository with a manifest written
// last.
// Runbook: runbooks/backup-failed.md. Options: `scripts/backup.ts --help`, the same as `pgops backup --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['backup']);
