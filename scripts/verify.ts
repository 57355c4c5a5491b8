#!/usr/bin/env -S node --import tsx
// `pgops verify` as a script: Nagios-style check: re-read every stored file of every set and every archived WAL file,
// compare size and sha256 with its manifest or sidecar, and check the WAL's continuity, without restoring anything.
// Runbook: runbooks/verify.md. Options: `scripts/verify.ts --help`, the same as `pgops verify --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['verify']);
