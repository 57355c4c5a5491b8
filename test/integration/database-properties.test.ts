import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, jsonEnvelope, runCli } from '../support/cli.ts';
import { initTestRepo } from '../support/repo.ts';
import { SUPERUSER, startCluster, type Cluster } from '../support/cluster.ts';

// A database's own properties (what pg_restore --create reproduces: locale, owner, settings, privileges, ...)
// carried from one cluster to another by restore --create and checked by drills; refused or listed when the
// target cannot take them. Read back with SQL of the test's own, never with pgops' reading.
let source: Cluster;
let target: Cluster;
let dir: string;
let dumpFile: string;
/** the source's tablespace folder, outside the clusters' own: removed once they are stopped */
let tsDir: string | undefined;
const repo = () => `file://${dir}/props`;

type Row = Record<string, unknown>;

// Every property of a database as pg_database, aclexplode, pg_shdescription and pg_db_role_setting show it.
async function propertiesOf(c: Cluster, db: string): Promise<Row> {
  const rows = await c.query(
    `SELECT d.datlocprovider::text AS provider, d.daticulocale AS iculocale, d.datcollate::text AS collate, d.datctype::text AS ctype,
            pg_encoding_to_char(d.encoding) AS encoding, pg_get_userbyid(d.datdba)::text AS owner, t.spcname::text AS tablespace,
            d.datconnlimit AS connlimit, d.datistemplate AS template, shobj_description(d.oid, 'pg_database') AS comment,
            ARRAY(SELECT format('%s %s by %s%s', CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee)::text END, a.privilege_type,
                                pg_get_userbyid(a.grantor), CASE WHEN a.is_grantable THEN ' with grant option' ELSE '' END) COLLATE "C"
                    FROM aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a ORDER BY 1) AS acl,
            ARRAY(SELECT s COLLATE "C" FROM pg_db_role_setting r, unnest(r.setconfig) s WHERE r.setdatabase = d.oid AND r.setrole = 0 ORDER BY 1) AS settings,
            ARRAY(SELECT (pg_get_userbyid(r.setrole) || ': ' || s) COLLATE "C" FROM pg_db_role_setting r, unnest(r.setconfig) s WHERE r.setdatabase = d.oid AND r.setrole <> 0 ORDER BY 1) AS "roleSettings"
       FROM pg_database d JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = $1`,
    [db],
  );
  expect(rows, `database ${db}`).toHaveLength(1);
  return rows[0];
}

const exists = async (c: Cluster, db: string) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db])).length === 1;
const restore = (args: string[]) => runCli(['restore', '--repo', repo(), '--json', ...args]);

// Opens a session as a role over TCP (trust): what an application connecting to the restored database gets.
async function sessionAs(c: Cluster, db: string, user: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: c.url(db, user) });
  client.on('error', () => {});
  await client.connect();
  return client;
}

beforeAll(async () => {
  [source, target] = await Promise.all([startCluster(), startCluster()]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-props-'));
  source.psql(`
    CREATE ROLE app_owner;
    CREATE ROLE app_reader LOGIN;
    CREATE DATABASE props LOCALE_PROVIDER icu ICU_LOCALE 'de-DE' LOCALE 'C.UTF-8' TEMPLATE template0;
    ALTER DATABASE props OWNER TO app_owner;
    ALTER DATABASE props SET work_mem = '12MB';
    ALTER DATABASE props SET search_path = "$user", public, "Odd Schema";
    ALTER ROLE app_reader IN DATABASE props SET statement_timeout = '5s';
    COMMENT ON DATABASE props IS 'it''s the app';
    ALTER DATABASE props CONNECTION LIMIT 7;
    REVOKE CONNECT, TEMPORARY ON DATABASE props FROM PUBLIC;
    GRANT CONNECT ON DATABASE props TO app_reader;
  `);
  // the table is found through the database's search_path only: a list setting restored as one string loses it
  source.psql(`
    CREATE SCHEMA "Odd Schema";
    GRANT USAGE ON SCHEMA "Odd Schema" TO app_reader;
    CREATE TABLE "Odd Schema".words (v text);
    GRANT SELECT ON "Odd Schema".words TO app_reader;
    INSERT INTO "Odd Schema".words VALUES ('B'), ('ä'), ('b'), ('A'), ('a');
  `, 'props');
  await initTestRepo(repo());
  const b = await runCli(['backup', '--db', source.url('props'), '--repo', repo(), '--json', '--fingerprint', 'hash']);
  expect(b.exitCode, b.stderr).toBe(0);
  dumpFile = path.join(dir, 'props', jsonData(b.stdout).manifest).replace(/manifest\.json$/, 'dump');
  expect(fs.existsSync(dumpFile), dumpFile).toBe(true);
});

afterAll(async () => {
  await Promise.all([source?.stop(), target?.stop()]);
  for (const d of [dir, tsDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

const ORDER = `SELECT string_agg(v, ',' ORDER BY v) AS o FROM words`;

describe('restore --create onto another cluster', () => {
  it('gives the new database every property of the backed-up one, as a bare pg_restore --create does', async () => {
    const r = await restore(['--to', target.url('props_copy'), '--create', '--globals']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(jsonData(r.stdout)).toMatchObject({ ok: true, created: true, warnings: [], notReproduced: [] });

    const want = await propertiesOf(source, 'props');
    expect(want).toMatchObject({ provider: 'i', iculocale: 'de-DE', owner: 'app_owner', connlimit: 7, comment: "it's the app" });
    expect(want.acl).toEqual(['app_owner CONNECT by app_owner', 'app_owner CREATE by app_owner', 'app_owner TEMPORARY by app_owner', 'app_reader CONNECT by app_owner']);
    expect(want.settings).toEqual(['search_path="$user", public, "Odd Schema"', 'work_mem=12MB']);
    expect(want.roleSettings).toEqual(['app_reader: statement_timeout=5s']);
    expect(await propertiesOf(target, 'props_copy')).toEqual(want);

    // the ICU order, and the table found through the restored search_path
    expect((await source.query(ORDER, [], 'props'))[0].o).toBe('a,A,ä,b,B');
    expect((await target.query(ORDER, [], 'props_copy'))[0].o).toBe('a,A,ä,b,B');

    // a bare pg_restore --create of the set's dump gives the database the same properties
    execFileSync('pg_restore', ['--create', '--exit-on-error', `--dbname=${target.url('postgres')}`, dumpFile], { stdio: 'pipe' });
    expect(await propertiesOf(target, 'props')).toEqual(want);
  });

  it("lets in the roles the backup's privileges let in, with their settings, and nobody else", async () => {
    const reader = await sessionAs(target, 'props_copy', 'app_reader');
    try {
      const show = async (name: string) => (await reader.query(`SELECT current_setting($1) AS v`, [name])).rows[0].v;
      expect([await show('search_path'), await show('work_mem'), await show('statement_timeout')]).toEqual(['"$user", public, "Odd Schema"', '12MB', '5s']);
      expect((await reader.query(ORDER)).rows[0].o).toBe('a,A,ä,b,B');
    } finally {
      await reader.end();
    }
    await target.query('CREATE ROLE stranger LOGIN');
    await expect(sessionAs(target, 'props_copy', 'stranger')).rejects.toThrow(/permission denied for database "props_copy"/);
  });
});

describe('a drill', () => {
  it('passes its database properties check when the drill server reproduces them all', async () => {
    const r = await runCli(['drill', '--repo', repo(), '--db', 'props', '--target', target.url('postgres'), '--json']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const report = jsonData(r.stdout);
    expect(report.result).toBe('pass');
    expect(report.checks.find((c: { name: string }) => c.name === 'database properties')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/privileges and settings match$/) });
  });
});

describe('a tablespace the target does not have', () => {
  const tsRepo = () => `file://${dir}/ts`;
  const scratchDbs = async () => (await target.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'pgops_drill_%'`)).map((r) => r.datname);
  const drill = (extra: string[] = []) => runCli(['drill', '--repo', tsRepo(), '--db', 'in_ts', '--target', target.url('postgres'), '--json', ...extra]);

  beforeAll(async () => {
    // the server creates its own folder inside: the location is absolute, empty and owned by postgres
    tsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-ts-'));
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', tsDir]);
    await source.query(`CREATE TABLESPACE ts LOCATION '${tsDir}'`);
    await source.query('CREATE DATABASE in_ts TABLESPACE ts');
    await source.query('CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10)', [], 'in_ts');
    await initTestRepo(tsRepo());
    const b = await runCli(['backup', '--db', source.url('in_ts'), '--repo', tsRepo(), '--json', '--fingerprint', 'hash']);
    expect(b.exitCode, b.stderr).toBe(0);
  });

  it('makes a drill refuse before creating the scratch database, naming the tablespace', async () => {
    // globals.sql's CREATE TABLESPACE ts fails on the target: the source's server uses that folder
    const r = await drill();
    expect(r.exitCode, r.stdout + r.stderr).toBe(3);
    const out = jsonEnvelope(r.stdout);
    expect(out).toMatchObject({ task: 'drill', ok: false, data: null });
    expect(out.error).toContain('tablespace "ts"');
    expect(out.hint).toContain('--skip-unavailable-properties');
    expect(await scratchDbs()).toEqual([]);
  });

  it('makes a drill with --skip-unavailable-properties fail only its database properties check', async () => {
    const r = await drill(['--skip-unavailable-properties']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(2);
    const report = jsonData(r.stdout);
    expect(report.result).toBe('fail');
    const checks = report.checks as { name: string; status: string; detail: string }[];
    expect(checks.filter((c) => c.status !== 'pass').map((c) => c.name)).toEqual(['database properties']);
    const props = checks.find((c) => c.name === 'database properties')!;
    expect(props.detail).toMatch(/^tablespace: "ts" in the backup, "pg_default" here; left out because the drill server cannot reproduce them .*tablespace "ts"/);
    expect(checks.find((c) => c.name === 'tables')!.detail).toMatch(/^1 of 1 tables match/);
    expect(checks.find((c) => c.name === 'restore')!.detail).toMatch(/globals\.sql: ERROR: .* already in use as a tablespace/);
    expect(await scratchDbs()).toEqual([]);
  });

  it('makes restore --create refuse without --skip-unavailable-properties, and list it with', async () => {
    const to = ['--repo', tsRepo(), '--to', target.url('in_ts_copy'), '--create', '--json'];
    const refused = await runCli(['restore', ...to]);
    expect(refused.exitCode, refused.stdout + refused.stderr).toBe(3);
    expect(jsonEnvelope(refused.stdout)).toMatchObject({ task: 'restore', ok: false, data: null, error: expect.stringContaining('tablespace "ts"'), hint: expect.stringContaining('--skip-unavailable-properties') });
    expect(await exists(target, 'in_ts_copy')).toBe(false);

    const r = await runCli(['restore', ...to, '--skip-unavailable-properties']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(jsonData(r.stdout).notReproduced).toEqual([expect.stringMatching(/^tablespace "ts" /)]);
    expect(await propertiesOf(target, 'in_ts_copy')).toMatchObject({ tablespace: 'pg_default', owner: SUPERUSER });
    expect(await target.query('SELECT count(*)::int AS n FROM t', [], 'in_ts_copy')).toEqual([{ n: 10 }]);
  });
});

describe('restore into an existing database', () => {
  it('restores the objects and lists every property the existing database does not share', async () => {
    await target.query('CREATE DATABASE existing');
    const before = await propertiesOf(target, 'existing');
    const r = await restore(['--to', target.url('existing'), '--globals']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    const out = jsonData(r.stdout);
    expect(out.created).toBe(false);
    expect(out.notReproduced.map((x: string) => x.split(':')[0])).toEqual(['locale provider', 'ICU locale', 'owner', 'connection limit', 'comment', 'privileges', 'settings', 'role settings']);
    expect(out.notReproduced).toContain('connection limit: "7" in the backup, "-1" here');
    expect(await propertiesOf(target, 'existing')).toEqual(before);
    expect(await target.query(`SELECT count(*)::int AS n FROM "Odd Schema".words`, [], 'existing')).toEqual([{ n: 5 }]);
  });
});

describe('roles the target does not have', () => {
  let bare: Cluster;
  beforeAll(async () => {
    bare = await startCluster();
  });
  afterAll(async () => {
    await bare?.stop();
  });

  it('refuses restore --create without --globals, naming the roles, and creates nothing', async () => {
    const r = await restore(['--to', bare.url('props_copy'), '--create']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(3);
    const out = jsonEnvelope(r.stdout);
    expect(out.error).toMatch(/the target has no role "app_owner", "app_reader"/);
    expect(out.hint).toMatch(/--globals.*--no-owner/);
    expect(await exists(bare, 'props_copy')).toBe(false);
  });

  it('restores with --no-owner as the restoring user, listing the settings of the missing role', async () => {
    const r = await restore(['--to', bare.url('props_copy'), '--create', '--no-owner']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(1);
    expect(jsonData(r.stdout).notReproduced).toEqual(['settings of role "app_reader" in the database (the role does not exist on the target)']);
    const found = await propertiesOf(bare, 'props_copy');
    expect(found).toMatchObject({ provider: 'i', iculocale: 'de-DE', owner: SUPERUSER, connlimit: 7, comment: "it's the app", roleSettings: [] });
    expect(found.settings).toEqual(['search_path="$user", public, "Odd Schema"', 'work_mem=12MB']);
    expect((await bare.query(ORDER, [], 'props_copy'))[0].o).toBe('a,A,ä,b,B');
  });
});
