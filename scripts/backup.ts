#!/usr/bin/env -S node --import tsx
// pgops backup: the same handler as `pgops backup`; see runbooks/ and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['backup']);
