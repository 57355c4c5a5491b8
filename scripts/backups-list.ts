#!/usr/bin/env -S node --import tsx
// pgops backups list: the same handler as `pgops backups list`; see runbooks/ and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['backups', 'list']);
