#!/usr/bin/env -S node --import tsx
// pgops restore: the same handler as `pgops restore`; see runbooks/ and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['restore']);
