#!/usr/bin/env -S node --import tsx
// pgops wal fetch: restore_command: the same handler as `pgops wal fetch`; see runbooks/wal-archiving.md and `--help`.
import { runScript } from '../lib/script.ts';

await runScript(['wal', 'fetch']);
