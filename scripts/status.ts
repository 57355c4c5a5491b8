#!/usr/bin/env -S node --import tsx
// pgops status: the same handler as `pgops status`; see runbooks/restore-drill.md and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['status']);
