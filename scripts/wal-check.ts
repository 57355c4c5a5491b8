#!/usr/bin/env -S node --import tsx
// `pgops wal check` as a script: Nagios-style check of WAL archiving: settings, failures, backlog and pg_wal size on
// the server; continuity in the repository.
// Runbook: runbooks/wal-archiving-failing.md. Options: `scripts/wal-check.ts --help`, the same as `pgops wal check --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['wal', 'check']);
