#!/usr/bin/env -S node --import tsx
// `pgops wal fetch` as a script: restore_command: restore one archived WAL file, verified against its sha256; exit 5
// when it is not archived, 128 when it fails during an archive recovery (PostgreSQL then stops).
// Runbook: runbooks/wal-archiving-failing.md. Options: `scripts/wal-fetch.ts --help`, the same as `pgops wal fetch --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['wal', 'fetch']);
