#!/usr/bin/env -S node --import tsx
// pgops reindex: the same handler as `pgops reindex`; see runbooks/reindex.md and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['reindex']);
