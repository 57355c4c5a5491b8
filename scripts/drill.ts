#!/usr/bin/env -S node --import tsx
// `pgops drill` as a script: restore drill: restore a backup into a scratch database and prove it matches what was
// dumped.
// Runbook: runbooks/drill-failed.md. Options: `scripts/drill.ts --help`, the same as `pgops drill --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['drill']);
