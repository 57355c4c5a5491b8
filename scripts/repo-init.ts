#!/usr/bin/env -S node --import tsx
// pgops repo init: the same handler as `pgops repo init`; see runbooks/repository.md and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['repo', 'init']);
