import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scratchName } from '../../lib/tasks/drill/scratch.ts';
import { jsonData, jsonEnvelope, runCli } from '../support/cli.ts';
import { initTestRepo } from '../support/repo.ts';
import { startCluster, SUPERUSER, type Cluster } from '../support/cluster.ts';

// A drill proves a restore on schemas built to break the proof: columns named like the aliases of the hashing SQL,
// constraints PostgreSQL derives and pg_restore renames, an inheritance child whose columns pg_dump reorders, a
// stale materialized view. And what a drill or restore must refuse or report: a dump that holds other values than
// its fingerprints, --table and --schema that match nothing, a target that already has tables.
const DB = 'proof';
let source: Cluster;
let drillServer: Cluster;
let dir: string;

// The rows of odd.t from lo to hi: every column a function of g, so a test can put back a row it removed.
const oddRows = (lo: number, hi: number) => `
  INSERT INTO odd.t SELECT g, 'x' || g, 'q' || g, g * 10, g % 3, g / 7.0, g * 100, 'label ' || g, g * 1.25, g % 2 = 0,
         timestamptz '2026-01-01 00:00+00' + g * interval '1 hour', jsonb_build_object('g', g, 'tags', jsonb_build_array('a', g)), ARRAY[g, g + 1, NULL]
    FROM generate_series(${lo}, ${hi}) g;`;

const SCHEMA = `
  -- columns named like every alias the fingerprint SQL uses (the table was aliased t, now x; q, c0, n, h), and row
  CREATE SCHEMA odd;
  CREATE TABLE odd.t (t int, x text, q text, c0 int, n int, h numeric, "row" int, label text, amount numeric(12,2), flag bool, at timestamptz, doc jsonb, ints int[]);
  ${oddRows(1, 20)}
  CREATE TABLE odd.x (x int, t text);
  INSERT INTO odd.x SELECT g, 't' || g FROM generate_series(1, 5) g;

  -- a plain table referencing a partitioned one: PostgreSQL derives fk_a_fkey1..3, one per partition; dropping the
  -- second leaves fk_a_fkey1 and fk_a_fkey3, which a restore numbers 1 and 2
  CREATE SCHEMA parts;
  CREATE TABLE parts.ref (id int PRIMARY KEY) PARTITION BY RANGE (id);
  CREATE TABLE parts.ref_1 PARTITION OF parts.ref FOR VALUES FROM (0) TO (100);
  CREATE TABLE parts.ref_2 PARTITION OF parts.ref FOR VALUES FROM (100) TO (200);
  CREATE TABLE parts.ref_3 PARTITION OF parts.ref FOR VALUES FROM (200) TO (300);
  CREATE TABLE parts.fk (id int PRIMARY KEY, a int REFERENCES parts.ref);
  INSERT INTO parts.ref VALUES (1), (2), (150), (250);
  INSERT INTO parts.fk VALUES (1, 1), (2, 250);
  ALTER TABLE parts.ref DETACH PARTITION parts.ref_2;
  DROP TABLE parts.ref_2;
  -- a partitioned table referencing a plain one: each partition gets a derived copy of the foreign key
  CREATE TABLE parts.orders (id int PRIMARY KEY);
  INSERT INTO parts.orders SELECT generate_series(1, 5);
  CREATE TABLE parts.lines (id int, order_id int REFERENCES parts.orders) PARTITION BY RANGE (id);
  CREATE TABLE parts.lines_1 PARTITION OF parts.lines FOR VALUES FROM (0) TO (10);
  CREATE TABLE parts.lines_2 PARTITION OF parts.lines FOR VALUES FROM (10) TO (20);
  INSERT INTO parts.lines VALUES (1, 1), (11, 2), (12, 5);

  -- pg_dump writes CREATE TABLE child (b text) INHERITS (parent): the restored child's columns are a, c, b
  CREATE SCHEMA inh;
  CREATE TABLE inh.parent (a int);
  CREATE TABLE inh.child (b text) INHERITS (inh.parent);
  ALTER TABLE inh.parent ADD COLUMN c int;
  INSERT INTO inh.parent VALUES (0, 0);
  INSERT INTO inh.child (a, b, c) VALUES (1, 'one', 10), (2, 'two', 20), (3, NULL, 30);

  -- stale when backed up: a restore refreshes it, to 8 rows
  CREATE SCHEMA reports;
  CREATE TABLE reports.orders (id int);
  INSERT INTO reports.orders SELECT generate_series(1, 5);
  CREATE MATERIALIZED VIEW reports.order_ids AS SELECT id FROM reports.orders;
  INSERT INTO reports.orders SELECT generate_series(6, 8);

  -- for restore --table: billing.invoices, and no public.invoices
  CREATE SCHEMA billing;
  CREATE TABLE billing.invoices (id int PRIMARY KEY, total numeric(10,2));
  INSERT INTO billing.invoices SELECT g, g * 9.5 FROM generate_series(1, 7) g;
`;

interface Check {
  name: string;
  status: string;
  detail?: string;
}
interface Report {
  result: string;
  backupId: string;
  checks: Check[];
}

async function backup(repo: string, fingerprint: 'hash' | 'count'): Promise<{ backupId: string; manifest: string }> {
  await initTestRepo(repo);
  const r = await runCli(['backup', '--db', source.url(DB), '--repo', repo, '--json', '--fingerprint', fingerprint]);
  expect(r.exitCode, r.stderr).toBe(0);
  return jsonData(r.stdout);
}

async function drill(repo: string, extra: string[] = []): Promise<{ exitCode: number; report: Report; stderr: string }> {
  const r = await runCli(['drill', '--repo', repo, '--db', DB, '--target', drillServer.url('postgres'), '--json', ...extra]);
  return { exitCode: r.exitCode, report: jsonData(r.stdout), stderr: r.stderr };
}

const failed = (report: Report) => report.checks.filter((c) => c.status === 'fail');
const notes = (report: Report) => report.checks.filter((c) => c.status === 'note');
const databases = async (cluster: Cluster) => (await cluster.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY 1')).map((r) => r.datname);

// The constraints PostgreSQL derived from another (conparentid), as table: name.
const derivedConstraints = async (cluster: Cluster, database: string) =>
  (
    await cluster.query<{ c: string }>(
      `SELECT conrelid::regclass::text || ': ' || conname AS c FROM pg_constraint
        WHERE connamespace = 'parts'::regnamespace AND conparentid <> 0 AND contype = 'f' ORDER BY 1`,
      [],
      database,
    )
  ).map((r) => r.c);
const childColumns = async (cluster: Cluster, database: string) =>
  (await cluster.query<{ attname: string }>(`SELECT attname FROM pg_attribute WHERE attrelid = 'inh.child'::regclass AND attnum > 0 ORDER BY attnum`, [], database)).map((r) => r.attname);

beforeAll(async () => {
  [source, drillServer] = await Promise.all([startCluster(), startCluster()]);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-drill-proof-'));
  await source.query(`CREATE DATABASE ${DB}`);
  source.psql(SCHEMA, DB);
});

afterAll(async () => {
  await Promise.all([source?.stop(), drillServer?.stop()]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe('a drill of a schema built to break the proof', () => {
  it('is a real trap: a bare pg_dump and pg_restore renumber a derived constraint and reorder the child\'s columns', async () => {
    const dump = path.join(dir, 'bare.dump');
    const conn = (c: Cluster) => ['-h', c.dir, '-p', String(c.port), '-U', SUPERUSER];
    execFileSync('pg_dump', [...conn(source), '-Fc', '-f', dump, DB]);
    await drillServer.query('CREATE DATABASE bare TEMPLATE template0');
    execFileSync('pg_restore', [...conn(drillServer), '--exit-on-error', '-d', 'bare', dump]);
    expect(await derivedConstraints(source, DB)).toEqual([
      'parts.fk: fk_a_fkey1', 'parts.fk: fk_a_fkey3', 'parts.lines_1: lines_order_id_fkey', 'parts.lines_2: lines_order_id_fkey',
    ]);
    expect(await derivedConstraints(drillServer, 'bare')).toEqual([
      'parts.fk: fk_a_fkey1', 'parts.fk: fk_a_fkey2', 'parts.lines_1: lines_order_id_fkey', 'parts.lines_2: lines_order_id_fkey',
    ]);
    expect(await childColumns(source, DB)).toEqual(['a', 'b', 'c']);
    expect(await childColumns(drillServer, 'bare')).toEqual(['a', 'c', 'b']);
    await drillServer.query('DROP DATABASE bare WITH (FORCE)');
  });

  it('backs up with --fingerprint hash and passes, the stale materialized view a note, the renamed constraint matched', async () => {
    const repo = `file://${dir}/hash`;
    const b = await backup(repo, 'hash');
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'hash', b.manifest), 'utf8'));
    const odd = manifest.fingerprints.tables.find((t: { schema: string; name: string }) => t.schema === 'odd' && t.name === 't');
    expect(odd.columns.map((c: { name: string }) => c.name)).toEqual(['amount', 'at', 'c0', 'doc', 'flag', 'h', 'ints', 'label', 'n', 'q', 'row', 't', 'x']);
    // the derived foreign keys are recorded by table, root and definition, not by the name pg_restore will choose anew
    expect(manifest.inventory.constraints.filter((c: string) => c.startsWith('parts.fk f'))).toEqual([
      'parts.fk f (derived from fk_a_fkey on parts.fk): FOREIGN KEY (a) REFERENCES parts.ref_1(id)',
      'parts.fk f (derived from fk_a_fkey on parts.fk): FOREIGN KEY (a) REFERENCES parts.ref_3(id)',
      'parts.fk f fk_a_fkey: FOREIGN KEY (a) REFERENCES parts.ref(id)',
    ]);
    const { exitCode, report, stderr } = await drill(repo, ['--keep']);
    const scratch = scratchName(b.backupId);
    try {
      expect(exitCode, stderr).toBe(0);
      expect(report.result).toBe('pass');
      expect(failed(report)).toEqual([]);
      expect(notes(report)).toEqual([
        { name: 'materialized view reports.order_ids', status: 'note', detail: expect.stringMatching(/^row count differs: expected 5, found 8: a restore refreshes every materialized view/) },
      ]);
      const check = (name: string) => report.checks.find((c) => c.name === name);
      expect(check('tables')).toEqual({ name: 'tables', status: 'pass', detail: '14 of 15 tables match (row count and content hash of every column); 1 materialized view refreshed by the restore (notes)' });
      expect(check('inventory constraints')).toMatchObject({ status: 'pass' });
      // what the drill restored really had the constraint renamed and the child's columns reordered
      expect(await derivedConstraints(drillServer, scratch)).toContain('parts.fk: fk_a_fkey2');
      expect(await childColumns(drillServer, scratch)).toEqual(['a', 'c', 'b']);
    } finally {
      await drillServer.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`);
    }
  });

  it('backs up with --fingerprint count and passes too', async () => {
    const repo = `file://${dir}/count`;
    await backup(repo, 'count');
    const { exitCode, report, stderr } = await drill(repo);
    expect(exitCode, stderr).toBe(0);
    expect(report.result).toBe('pass');
    expect(failed(report)).toEqual([]);
    expect(notes(report).map((c) => c.name)).toEqual(['materialized view reports.order_ids']);
    expect(report.checks.find((c) => c.name === 'inventory constraints')).toMatchObject({ status: 'pass' });
  });
});

describe('a dump that holds other values than its manifest\'s fingerprints, with checksums that match', () => {
  const repoDir = () => path.join(dir, 'edited');
  const repo = () => `file://${repoDir()}`;
  let a: { backupId: string; manifest: string };
  let original: { dump: Buffer; manifest: string };
  const setFile = (set: { manifest: string }, name: string) => path.join(repoDir(), path.dirname(set.manifest), name);

  beforeAll(async () => {
    a = await backup(repo(), 'hash');
    original = { dump: fs.readFileSync(setFile(a, 'dump')), manifest: fs.readFileSync(setFile(a, 'manifest.json'), 'utf8') };
  });

  // Backs up the source with `change` applied (undone right after), then puts that dump into set A with A's manifest
  // listing its sha256 and size: A's checksums pass, and its fingerprints describe the data before the change.
  async function drillEdited(change: string, undo: string): Promise<{ exitCode: number; report: Report }> {
    source.psql(change, DB);
    let b: { backupId: string; manifest: string };
    try {
      b = await backup(repo(), 'hash');
    } finally {
      source.psql(undo, DB);
    }
    const dump = fs.readFileSync(setFile(b, 'dump'));
    const m = JSON.parse(original.manifest);
    const entry = m.files.find((f: { path: string }) => f.path === 'dump');
    entry.size = dump.length;
    entry.sha256 = createHash('sha256').update(dump).digest('hex');
    m.totalSize = m.files.reduce((s: number, f: { size: number }) => s + f.size, 0);
    fs.writeFileSync(setFile(a, 'dump'), dump);
    fs.writeFileSync(setFile(a, 'manifest.json'), JSON.stringify(m));
    try {
      const { exitCode, report } = await drill(repo(), ['--backup', a.backupId]);
      expect(report.checks.find((c) => c.name === 'checksums')).toMatchObject({ status: 'pass' });
      return { exitCode, report };
    } finally {
      fs.writeFileSync(setFile(a, 'dump'), original.dump);
      fs.writeFileSync(setFile(a, 'manifest.json'), original.manifest);
    }
  }

  it.each([
    ['t', 'UPDATE odd.t SET t = 1003 WHERE t = 3', 'UPDATE odd.t SET t = 3 WHERE t = 1003'],
    ['row', 'UPDATE odd.t SET "row" = -1 WHERE t = 4', 'UPDATE odd.t SET "row" = 400 WHERE t = 4'],
    ['x', `UPDATE odd.t SET x = 'changed' WHERE t = 5`, `UPDATE odd.t SET x = 'x5' WHERE t = 5`],
  ])('fails, naming column %s of odd.t alone, when one of its values changed', async (column, change, undo) => {
    const { exitCode, report } = await drillEdited(change, undo);
    expect(exitCode).toBe(2);
    expect(report.result).toBe('fail');
    expect(failed(report).map((c) => `${c.name}: ${c.detail}`)).toEqual([
      'tables: 13 of 15 tables match (row count and content hash of every column); 1 materialized view refreshed by the restore (notes)',
      `table odd.t: content differs with the same row count (20): values changed in column ${column}`,
    ]);
  });

  it('fails, saying the row count differs, when a row is missing', async () => {
    const { exitCode, report } = await drillEdited('DELETE FROM odd.t WHERE t = 6', oddRows(6, 6));
    expect(exitCode).toBe(2);
    expect(report.result).toBe('fail');
    expect(failed(report).map((c) => `${c.name}: ${c.detail}`)).toEqual([
      'tables: 13 of 15 tables match (row count and content hash of every column); 1 materialized view refreshed by the restore (notes)',
      'table odd.t: row count differs: expected 20, found 19',
    ]);
  });
});

describe('restore --table and --schema', () => {
  const repo = () => `file://${dir}/selection`;
  // the selection does not depend on the fingerprints: count keeps these tests apart from the hashing above
  beforeAll(async () => {
    await backup(repo(), 'count');
  });

  const refused = async (target: string, selection: string[]) => {
    const r = await runCli(['restore', '--repo', repo(), '--to', drillServer.url(target), '--create', '--json', ...selection]);
    return { exitCode: r.exitCode, out: jsonEnvelope(r.stdout) };
  };

  it.each([
    [['--table', 'invoices'], 'table public.invoices (a name without a schema means public) is not in the backup (did you mean billing.invoices?)'],
    [['--table', 'billing.invoice'], 'table billing.invoice is not in the backup (did you mean billing.invoices?)'],
    [['--schema', 'billingg'], 'schema "billingg" is not in the backup (did you mean billing?)'],
  ])('refuses %j that matches nothing, suggesting the close name, before creating the database', async (selection, problem) => {
    const { exitCode, out } = await refused('sel_1', selection);
    expect(exitCode).toBe(5);
    expect(out.error).toBe(`nothing to restore for ${problem}`);
    expect(out.hint).toMatch(/nothing was created$/);
    expect(await databases(drillServer)).not.toContain('sel_1');
  });

  it('restores billing.invoices, written as the backup names it, with its rows', async () => {
    const r = await runCli(['restore', '--repo', repo(), '--to', drillServer.url('sel_ok'), '--create', '--table', 'billing.invoices']);
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = await drillServer.query<{ n: string; total: string }>('SELECT count(*)::text AS n, sum(total)::text AS total FROM billing.invoices', [], 'sel_ok');
    expect(rows).toEqual([{ n: '7', total: '266.00' }]);
    const tables = await drillServer.query<{ t: string }>(`SELECT format('%I.%I', schemaname, relname) AS t FROM pg_stat_user_tables ORDER BY 1`, [], 'sel_ok');
    expect(tables.map((t) => t.t)).toEqual(['billing.invoices']);
  });
});

describe('restore into a database that already has tables', () => {
  it('refuses without --clean, advising a new database and a copy, and writes nothing', async () => {
    const repo = `file://${dir}/occupied`;
    await backup(repo, 'count');
    await drillServer.query('CREATE DATABASE occupied');
    await drillServer.query(`CREATE TABLE keep (v text); INSERT INTO keep VALUES ('mine')`, [], 'occupied');
    const r = await runCli(['restore', '--repo', repo, '--to', drillServer.url('occupied'), '--json']);
    expect(r.exitCode).toBe(3);
    const out = jsonEnvelope(r.stdout);
    expect(out.error).toMatch(/^database "occupied" on .* already has tables: public\.keep$/);
    // the advice comes first; --clean is only said to drop what the target holds, never offered as the way out
    const [advice, ...rest] = (out.hint as string).split('; ');
    expect(advice).toBe('restore into a new database (--to .../occupied_restored --create) and copy what you need from there');
    expect(rest.join('; ')).toMatch(/^--clean would drop and recreate the backup's objects in this database/);
    expect(out.hint).not.toMatch(/\b(add|use|or) --clean\b/);
    const tables = await drillServer.query<{ t: string }>(`SELECT format('%I.%I', schemaname, relname) AS t FROM pg_stat_user_tables ORDER BY 1`, [], 'occupied');
    expect(tables.map((t) => t.t)).toEqual(['public.keep']);
  });
});
