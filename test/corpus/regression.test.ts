import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillCheck, DrillReport } from '../../lib/repo/drill-reports.ts';
import { type CliResult, jsonData, runCli } from '../support/cli.ts';
import { initTestRepo } from '../support/repo.ts';
import { startCluster, SUPERUSER, type Cluster } from '../support/cluster.ts';
import { firstDifference, sortCopyBlocks, comparableDump } from '../support/dump-text.ts';
import { regressionCorpus } from './regression/corpus.ts';

// PostgreSQL's own regression database (what pg_upgrade's tests dump): some 600 tables, every data type, odd
// names, generated constraint names, publications, large objects. Backups, drills and restores of it must work
// as they do on our fixtures, and a pgops restore must equal what bare pg_dump and pg_restore make of it.
const DB = 'regression';
const MODES = ['count', 'hash'] as const;
type Mode = (typeof MODES)[number];

let source: Cluster;
let target: Cluster;
let dir: string;
let repo: string;
const sets: Partial<Record<Mode, string>> = {};
const timings: [string, number][] = [];

// the client programs of the server's own version (PATH may hold only pg_ctl and postgres, or another major's tools)
const CLIENT_BIN = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
const pg = (tool: string) => path.join(CLIENT_BIN, tool);
const failed = (report: DrillReport) => report.checks.filter((c) => c.status === 'fail');

// Runs a PostgreSQL client program; throws with its stderr when it fails, so the assertion names the cause.
async function run(tool: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const r = await execa(pg(tool), args, { reject: false, env: { PGUSER: SUPERUSER } });
  // execa's message also covers a program that never started or was killed (no exit code)
  if (r.exitCode !== 0) throw new Error(`${r.shortMessage}\n${r.stderr.split('\n').slice(0, 20).join('\n')}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

// Times one step for the closing table: a note for the engineer, never an assertion.
async function timed<T>(what: string, step: () => Promise<T>): Promise<T> {
  const started = Date.now();
  try {
    return await step();
  } finally {
    timings.push([what, Date.now() - started]);
  }
}

// The JSON a task printed, or an error carrying its stderr when it printed none.
function json<T>(r: CliResult): T {
  try {
    return jsonData(r.stdout) as T;
  } catch {
    throw new Error(`exit ${r.exitCode} and no JSON on stdout:\n${r.stdout}\n${r.stderr}`);
  }
}

// A drill's checks as a compact table, to quote in a bug report.
function checkTable(title: string, checks: DrillCheck[]): string {
  const width = Math.max(...checks.map((c) => c.name.length), 5);
  return [title, ...checks.map((c) => `  ${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.detail ?? ''}`)].join('\n');
}

beforeAll(async () => {
  const corpus = regressionCorpus();
  [source, target] = await Promise.all([startCluster({ fromData: corpus.data }), startCluster()]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-corpus-'));
  repo = `file://${dir}/repo`;
});

afterAll(async () => {
  if (timings.length) console.log(['wall times (a note, not a test)', ...timings.map(([what, ms]) => `  ${(ms / 1000).toFixed(1).padStart(6)} s  ${what}`)].join('\n'));
  await Promise.all([source?.stop(), target?.stop()]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('backups and drills of the regression database', () => {
  it.each(MODES)('backs up the regression database with %s fingerprints', async (mode) => {
    await initTestRepo(repo);
    const r = await timed(`backup --fingerprint ${mode}`, () => runCli(['backup', '--db', source.url(DB), '--repo', repo, '--json', '--fingerprint', mode]));
    expect(r.exitCode, r.stderr).toBe(0);
    const { backupId } = json<{ backupId: string }>(r);
    expect(backupId).toMatch(/^\d{8}T\d{6}Z/);
    sets[mode] = backupId;
  });

  it.each(MODES)('passes a drill of a %s backup of the regression database', async (mode) => {
    const backupId = sets[mode];
    expect(backupId, `there is no ${mode} backup to drill: its backup test failed`).toBeDefined();
    const r = await timed(`drill of the ${mode} backup`, () => runCli(['drill', '--db', DB, '--repo', repo, '--target', target.url('postgres'), '--json', '--backup', backupId!]));
    const report = json<DrillReport>(r);
    console.log(checkTable(`drill of the ${mode} backup ${backupId}: ${report.result}, exit ${r.exitCode}`, report.checks));
    expect({ exitCode: r.exitCode, result: report.result, error: report.error, failed: failed(report) }, r.stderr).toEqual({ exitCode: 0, result: 'pass', error: undefined, failed: [] });
  });
});

describe('a pgops restore of the regression database against bare pg_dump and pg_restore', () => {
  const BARE = 'regression_bare';
  const PGOPS = 'regression_pgops';
  const dumpText = async (db: string, what: '--schema-only' | '--data-only') => {
    const file = path.join(dir, `${db}${what}.sql`);
    await run('pg_dump', [what, '-f', file, '-d', target.url(db)]);
    return fs.readFileSync(file, 'utf8');
  };

  it('restores the globals and a pg_dump -Fc with createdb and pg_restore --exit-on-error', async () => {
    const globals = (await run('pg_dumpall', ['--globals-only', '--no-role-passwords', '-d', source.url()])).stdout;
    console.log(`globals of the regression cluster: ${globals.match(/^CREATE (ROLE|TABLESPACE) .*$/gm)?.join(' ') ?? 'none'}`);
    // ON_ERROR_STOP off: the superuser root exists on both sides, and that error alone is expected
    const applied = await execa(pg('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=0', '-d', target.url()], { input: globals, reject: false });
    const problems = applied.stderr.split('\n').filter((l) => /ERROR:/.test(l) && !/(role|tablespace) ".*" already exists/.test(l));
    expect(problems, 'psql applying the globals').toEqual([]);

    const dump = path.join(dir, 'bare.dump');
    await timed('bare pg_dump -Fc', () => run('pg_dump', ['-Fc', '-f', dump, '-d', source.url(DB)]));
    await timed('bare createdb -T template0 + pg_restore --exit-on-error', async () => {
      await run('createdb', ['-T', 'template0', '-h', '127.0.0.1', '-p', String(target.port), BARE]);
      await run('pg_restore', ['--exit-on-error', '-d', target.url(BARE), dump]);
    });
  });

  it('restores the backup with pgops restore --create --globals', async () => {
    // the hash set is the one to restore; when its backup failed, the count set (the same pg_dump) still shows the restore
    const mode: Mode | undefined = sets.hash ? 'hash' : sets.count ? 'count' : undefined;
    expect(mode, 'there is no backup to restore: both backup tests failed').toBeDefined();
    if (mode === 'count') console.log('restoring the count set: there is no hash set (its backup failed)');
    const r = await timed(`pgops restore of the ${mode} backup`, () => runCli(['restore', '--repo', repo, '--backup', sets[mode!]!, '--to', target.url(PGOPS), '--create', '--globals', '--json']));
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it('gives the same schema as the bare restore (pg_dump --schema-only)', async () => {
    const [bare, ours] = await Promise.all([dumpText(BARE, '--schema-only'), dumpText(PGOPS, '--schema-only')]);
    expect(bare).toMatch(/^CREATE TABLE public\.tenk1 /m);
    expect(firstDifference(comparableDump(bare), comparableDump(ours), ['bare restore', 'pgops restore'])).toBeUndefined();
  });

  it('gives the same rows in every table as the bare restore (pg_dump --data-only, rows sorted)', async () => {
    const [bare, ours] = await Promise.all([dumpText(BARE, '--data-only'), dumpText(PGOPS, '--data-only')]);
    expect(bare).toMatch(/^COPY public\.tenk1 .* FROM stdin;$/m);
    expect(firstDifference(sortCopyBlocks(comparableDump(bare)), sortCopyBlocks(comparableDump(ours)), ['bare restore', 'pgops restore'])).toBeUndefined();
  });

  it('gives the database the properties a bare pg_restore --create gives it', async () => {
    // pg_restore --create makes the database under its own name, "regression": the target has none yet
    await run('pg_restore', ['--create', '--exit-on-error', '-d', target.url('postgres'), path.join(dir, 'bare.dump')]);
    const properties = async (db: string) =>
      (
        await target.query(
          `SELECT d.encoding, d.datlocprovider, d.daticulocale, d.datcollate, d.datctype, d.datconnlimit, d.datistemplate,
                  pg_get_userbyid(d.datdba) AS owner, shobj_description(d.oid, 'pg_database') AS comment,
                  ARRAY(SELECT a::text FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a ORDER BY 1) AS acl,
                  ARRAY(SELECT coalesce(s.setrole::regrole::text, '-') || ' ' || c FROM pg_db_role_setting s, unnest(s.setconfig) c
                         WHERE s.setdatabase = d.oid ORDER BY 1) AS settings
             FROM pg_database d WHERE d.datname = $1`,
          [db],
        )
      )[0];
    const bare = await properties(DB);
    expect(bare.settings).toContain('- lc_monetary=C');
    expect(await properties(PGOPS)).toEqual(bare);
  });
});

