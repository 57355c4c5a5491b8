#!/usr/bin/env -S node --import tsx
// pgops repo info: the same handler as `pgops repo info`; see runbooks/repository.md and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['repo', 'info']);
