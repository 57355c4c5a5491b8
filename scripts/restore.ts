#!/usr/bin/env -S node --import tsx
// `pgops restore` as a script: verify a backup set against its manifest, then restore it with pg_restore.
// Runbook: runbooks/restore-database.md. Options: `scripts/restore.ts --help`, the same as `pgops restore --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['restore']);
