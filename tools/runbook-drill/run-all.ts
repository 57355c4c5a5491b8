// npm run runbook-drills: every drill (vitest.drills.config.ts), then the table of what each found: on stdout, in the
// job summary when GITHUB_STEP_SUMMARY names one, and with --readme in README.md between its drills markers. Exits
// non-zero when a drill failed or a scenario page has no result.
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { replaceBetween } from '../docs/reference.ts';
import { drillDeclaration } from './page.ts';
import { readRecords, resultsDir, resultTable } from './results.ts';
import { SCENARIO_PAGES } from './scenarios.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const args = process.argv.slice(2);
const writeReadme = args.includes('--readme');
const vitestArgs = args.filter((a) => a !== '--readme');

// this run's results only: an old file would pass a page that did not run
fs.rmSync(resultsDir(), { recursive: true, force: true });
const vitest = await execa('npx', ['vitest', 'run', '--config', 'vitest.drills.config.ts', ...vitestArgs], { cwd: ROOT, stdio: 'inherit', reject: false });

const pages = SCENARIO_PAGES.map((page) => ({ page, notDrilled: drillDeclaration(fs.readFileSync(path.join(ROOT, 'runbooks', page), 'utf8'))?.notDrilled }));
const records = readRecords();
const table = resultTable(records, pages);
const missing = pages.filter((p) => !p.notDrilled && !records.some((r) => r.page === p.page)).map((p) => p.page);
const heading = `Runbook drills, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC: ${records.length} of ${pages.length} pages passed`;
console.log(`\n${heading}\n\n${table}\n`);
if (process.env.GITHUB_STEP_SUMMARY) fs.appendFileSync(process.env.GITHUB_STEP_SUMMARY, `## ${heading}\n\n${table}\n`);
if (writeReadme) {
  const readme = path.join(ROOT, 'README.md');
  fs.writeFileSync(readme, replaceBetween(fs.readFileSync(readme, 'utf8'), 'drills', `${heading}.\n\n${table}`));
  console.log('README.md: drill table updated');
}
if (missing.length) console.error(`runbook drills: no passing result for ${missing.join(', ')}`);
process.exit(vitest.exitCode || (missing.length ? 1 : 0));
