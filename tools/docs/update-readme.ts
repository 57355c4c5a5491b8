// npm run docs: regenerates the README's command, option and exit-code sections from the code's tables.
import fs from 'node:fs';
import { renderReadme } from './reference.ts';
import { renderRunbookReadme } from './runbooks.ts';

const file = new URL('../../README.md', import.meta.url);
const before = fs.readFileSync(file, 'utf8');
const after = renderReadme(before);
if (after !== before) fs.writeFileSync(file, after);
console.log(after === before ? 'README.md is up to date' : 'README.md updated');

const dir = new URL('../../runbooks/', import.meta.url).pathname;
const index = new URL('../../runbooks/README.md', import.meta.url);
const was = fs.readFileSync(index, 'utf8');
const now = renderRunbookReadme(dir, was);
if (now !== was) fs.writeFileSync(index, now);
console.log(now === was ? 'runbooks/README.md is up to date' : 'runbooks/README.md updated');
