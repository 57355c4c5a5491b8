#!/usr/bin/env -S node --import tsx
// `pgops repo info` as a script: what a repository holds: its format, databases, backup sets, WAL range and size.
// Runbook: runbooks/repository.md. Options: `scripts/repo-info.ts --help`, the same as `pgops repo info --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['repo', 'info']);
