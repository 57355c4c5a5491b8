#!/usr/bin/env -S node --import tsx
// `pgops basebackup` as a script: take a base backup of the whole cluster with pg_basebackup (tar, WAL from the
// archive), streamed into basebackups/<system identifier>/ with a manifest written last, once its stop segment is
// archived.
// Runbook: runbooks/basebackup.md. Options: `scripts/basebackup.ts --help`, the same as `pgops basebackup --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['basebackup']);
