#!/usr/bin/env -S node --import tsx
// `pgops repo init` as a script: initialise a repository (writes pgops-repo.json, which every task reads first);
// adopts one that already holds sets.
// Runbook: runbooks/repository.md. Options: `scripts/repo-init.ts --help`, the same as `pgops repo init --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['repo', 'init']);
