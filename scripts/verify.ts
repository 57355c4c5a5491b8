#!/usr/bin/env -S node --import tsx
// pgops verify: the same Nagios-style check as `pgops verify`; see runbooks/verify.md and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['verify']);
