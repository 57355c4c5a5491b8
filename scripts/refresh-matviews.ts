#!/usr/bin/env -S node --import tsx
// pgops refresh-matviews: the same handler as `pgops refresh-matviews`; see runbooks/refresh-matviews.md and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['refresh-matviews']);
