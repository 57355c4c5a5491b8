#!/usr/bin/env -S node --import tsx
// pgops health: the same handler as `pgops health`; see runbooks/ and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['health']);
