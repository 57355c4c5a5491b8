#!/usr/bin/env -S node --import tsx
// pgops partitions create: the same handler as `pgops partitions create`; see runbooks/ and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['partitions', 'create']);
