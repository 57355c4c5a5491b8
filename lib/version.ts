import { readFileSync } from 'node:fs';

// The tool version recorded in manifests and reports: package.json's.
export const VERSION: string = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
