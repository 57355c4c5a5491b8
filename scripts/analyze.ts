#!/usr/bin/env -S node --import tsx
// pgops analyze: the same handler as `pgops analyze`; see runbooks/analyze.md and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['analyze']);
