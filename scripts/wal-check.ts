#!/usr/bin/env -S node --import tsx
// pgops wal check: the same Nagios-style check as `pgops wal check`; see runbooks/wal-archiving.md and `--help`.
import { runScript } from '../lib/script.ts';

await runScript(['wal', 'check']);
