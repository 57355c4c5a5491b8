#!/usr/bin/env -S node --import tsx
// pgops wal push: archive_command: the same handler as `pgops wal push`; see runbooks/wal-archiving.md and `--help`.
import { runScript } from '../lib/script.ts';

await runScript(['wal', 'push']);
