#!/usr/bin/env -S node --import tsx
// pgops idle-cleanup: the same handler as `pgops idle-cleanup`; see runbooks/ and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['idle-cleanup']);
