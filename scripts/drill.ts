#!/usr/bin/env -S node --import tsx
// pgops drill: the same handler as `pgops drill`; see runbooks/restore-drill.md and `--help` for options.
import { runScript } from '../lib/script.ts';

await runScript(['drill']);
