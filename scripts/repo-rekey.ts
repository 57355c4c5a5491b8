#!/usr/bin/env -S node --import tsx
// `pgops repo rekey` as a script: re-wraps the keys of an encrypted repository's stored files for its current
// recipients, without re-encrypting their data; prints the plan, --execute rewrites.
// Runbook: runbooks/encryption.md. Options: `scripts/repo-rekey.ts --help`, the same as `pgops repo rekey --help`.
//
// It runs the same code as the bin: its arguments go through lib/cli/dispatch.ts, the one front door.
import { runScript } from '../lib/cli/script.ts';

await runScript(['repo', 'rekey']);
