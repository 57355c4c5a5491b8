#!/usr/bin/env -S node --import tsx
// pgops partitions prune: the same handler as `pgops partitions prune`; see runbooks/ and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['partitions', 'prune']);
