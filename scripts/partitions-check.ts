#!/usr/bin/env -S node --import tsx
// pgops partitions check: the same handler as `pgops partitions check`; see runbooks/ and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['partitions', 'check']);
