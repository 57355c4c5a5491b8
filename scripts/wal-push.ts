#!/usr/bin/env -S node --import tsx
// `pgops wal push` as a script: archive_command: archive one WAL file into wal/<system identifier>/ of the repository
// (idempotent, verified, atomic).
// Runbook: runbooks/wal-archiving-failing.md. Options: `scripts/wal-push.ts --help`, the same as `pgops wal push --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['wal', 'push']);
