// npm run docs: regenerates the README's command, option and exit-code sections from the code's tables.
import fs from 'node:fs';
import { renderReadme } from './reference.ts';

const file = new URL('../../README.md', import.meta.url);
const before = fs.readFileSync(file, 'utf8');
const after = renderReadme(before);
if (after !== before) fs.writeFileSync(file, after);
console.log(after === before ? 'README.md is up to date' : 'README.md updated');
