#!/usr/bin/env -S node --import tsx
// pgops prune: the same handler as `pgops prune`; see runbooks/ and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['prune']);
