// npm run docs: regenerates the README's command, option and exit-code sections from the code's tables.
import fs from 'node:fs';
import { renderConfigSchema, SCHEMA_FILE } from './config-schema.ts';
import { renderReadme } from './reference.ts';
import { UNIT_DIR, writeUnits } from '../systemd/units.ts';
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

// the config file's JSON Schema, for editors (tools/docs/config-schema.ts)
const schemaFile = new URL(`../../${SCHEMA_FILE}`, import.meta.url);
const schema = renderConfigSchema();
const old = fs.existsSync(schemaFile) ? fs.readFileSync(schemaFile, 'utf8') : '';
if (schema !== old) fs.writeFileSync(schemaFile, schema);
console.log(schema === old ? `${SCHEMA_FILE} is up to date` : `${SCHEMA_FILE} updated`);

// the systemd units of the scheduled jobs (tools/systemd/units.ts)
const root = new URL('../../', import.meta.url).pathname.replace(/\/$/, '');
console.log(writeUnits(root) ? `${UNIT_DIR}/ updated` : `${UNIT_DIR}/ is up to date`);
