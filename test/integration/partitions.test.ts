import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonData, runCli } from '../support/cli.ts';
import { answeringTerminal } from '../support/terminal.ts';
import { initTestRepo } from '../support/repo.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';

// partitions create, prune and check against a real cluster, with the clock injected.
const DB = 'maint';
let c: Cluster;
let dir: string;

const at = (iso: string) => () => new Date(iso);
const partitions = (args: string[], when: string) => runCli(['partitions', ...args, '--db', c.url(DB)], {}, at(when));
const json = (r: { stdout: string }) => jsonData(r.stdout);

// The partitions of a table and their bounds, printed in UTC.
async function partitionsOf(schema: string, table: string): Promise<{ name: string; bound: string }[]> {
  return c.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = (SELECT p.oid FROM pg_class p JOIN pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = $1 AND p.relname = $2)
      ORDER BY 1`,
    [schema, table],
    DB,
  );
}
async function openSession(): Promise<pg.Client> {
  const client = new pg.Client({ host: '127.0.0.1', port: c.port, user: 'root', database: DB });
  client.on('error', () => {});
  await client.connect();
  return client;
}
const names = async (schema: string, table: string) => (await partitionsOf(schema, table)).map((p) => p.name);
const exists = async (schema: string, table: string) =>
  (await c.query(`SELECT 1 FROM pg_class p JOIN pg_namespace n ON n.oid = p.relnamespace WHERE n.nspname = $1 AND p.relname = $2`, [schema, table], DB)).length === 1;

const monthly = (table: string, from: number, to: number, year = 2026) =>
  Array.from({ length: to - from + 1 }, (_, i) => {
    const m = from + i;
    const next = m === 12 ? `${year + 1}-01-01` : `${year}-${String(m + 1).padStart(2, '0')}-01`;
    return `CREATE TABLE ${table}_p${year}_${String(m).padStart(2, '0')} PARTITION OF ${table} FOR VALUES FROM ('${year}-${String(m).padStart(2, '0')}-01 00:00+00') TO ('${next} 00:00+00');`;
  }).join('\n');

beforeAll(async () => {
  c = await startCluster();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-partitions-'));
  await c.query(`CREATE DATABASE ${DB}`);
  await c.query(`SET TimeZone = 'UTC'`, [], DB);
});

afterAll(async () => {
  await c?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('partitions create', () => {
  it('plans, then creates the current month and three ahead across the new year with UTC bounds, and a second run changes nothing', async () => {
    c.psql('CREATE TABLE events (id bigint, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);', DB);
    const dry = await partitions(['create', '--table', 'public.events', '--interval', 'month'], '2026-11-20T10:00:00Z');
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run, nothing was changed/);
    expect(dry.stdout).toContain(`create events_p2027_01 for 2027-01: FROM ('2027-01-01 00:00:00+00') TO ('2027-02-01 00:00:00+00')`);
    expect(await names('public', 'events')).toEqual([]);

    const run = await partitions(['create', '--table', 'public.events', '--interval', 'month', '--execute', '--json'], '2026-11-20T10:00:00Z');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(json(run).tables[0].created).toEqual(['events_p2026_11', 'events_p2026_12', 'events_p2027_01', 'events_p2027_02']);
    expect(await partitionsOf('public', 'events')).toEqual([
      { name: 'events_p2026_11', bound: "FOR VALUES FROM ('2026-11-01 00:00:00+00') TO ('2026-12-01 00:00:00+00')" },
      { name: 'events_p2026_12', bound: "FOR VALUES FROM ('2026-12-01 00:00:00+00') TO ('2027-01-01 00:00:00+00')" },
      { name: 'events_p2027_01', bound: "FOR VALUES FROM ('2027-01-01 00:00:00+00') TO ('2027-02-01 00:00:00+00')" },
      { name: 'events_p2027_02', bound: "FOR VALUES FROM ('2027-02-01 00:00:00+00') TO ('2027-03-01 00:00:00+00')" },
    ]);
    // every creation was logged, with its statement, before it ran
    expect(run.stderr).toContain('creating public.events_p2027_02: CREATE TABLE public.events_p2027_02 PARTITION OF public.events');

    // the second run infers the interval and has nothing to do
    const again = await partitions(['create', '--table', 'public.events', '--execute', '--json'], '2026-11-21T10:00:00Z');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(json(again).tables[0]).toMatchObject({ interval: 'month', create: [], created: [], existing: 4, status: 'ok' });
    expect(json(again).tables[0].intervalHow).toBe('inferred from events_p2027_02');
    expect(await names('public', 'events')).toHaveLength(4);
  });

  it('creates daily partitions across the year boundary for a date key', async () => {
    c.psql('CREATE TABLE daily (d date NOT NULL, v int) PARTITION BY RANGE (d);', DB);
    const r = await partitions(['create', '--table', 'daily', '--interval', 'day', '--ahead', '3', '--execute'], '2026-12-30T22:00:00Z');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await partitionsOf('public', 'daily')).toEqual([
      { name: 'daily_p2026_12_30', bound: "FOR VALUES FROM ('2026-12-30') TO ('2026-12-31')" },
      { name: 'daily_p2026_12_31', bound: "FOR VALUES FROM ('2026-12-31') TO ('2027-01-01')" },
      { name: 'daily_p2027_01_01', bound: "FOR VALUES FROM ('2027-01-01') TO ('2027-01-02')" },
      { name: 'daily_p2027_01_02', bound: "FOR VALUES FROM ('2027-01-02') TO ('2027-01-03')" },
    ]);
    // two days later, with the interval inferred: two new days, the rest exists
    const later = await partitions(['create', '--table', 'daily', '--ahead', '3', '--execute', '--json'], '2027-01-01T08:00:00Z');
    expect(later.exitCode, later.stderr).toBe(0);
    expect(json(later).tables[0].created).toEqual(['daily_p2027_01_03', 'daily_p2027_01_04']);
  });

  it('infers the interval from partitions made by hand under other names, for a timestamp key', async () => {
    c.psql(`CREATE TABLE metrics (ts timestamp NOT NULL) PARTITION BY RANGE (ts);
            CREATE TABLE metrics_october PARTITION OF metrics FOR VALUES FROM ('2026-10-01') TO ('2026-11-01');
            CREATE TABLE metrics_november PARTITION OF metrics FOR VALUES FROM ('2026-11-01') TO ('2026-12-01');`, DB);
    const r = await partitions(['create', '--table', 'public.metrics', '--ahead', '2', '--execute', '--json'], '2026-11-05T00:00:00Z');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(json(r).tables[0]).toMatchObject({ interval: 'month', intervalHow: 'inferred from metrics_november', existing: 1, created: ['metrics_p2026_12', 'metrics_p2027_01'] });
    expect((await partitionsOf('public', 'metrics')).find((p) => p.name === 'metrics_p2027_01')?.bound).toBe("FOR VALUES FROM ('2027-01-01 00:00:00') TO ('2027-02-01 00:00:00')");
  });

  it('says how to fix a table whose interval cannot be inferred', async () => {
    c.psql('CREATE TABLE empty_parent (ts timestamptz) PARTITION BY RANGE (ts);', DB);
    const r = await partitions(['create', '--table', 'empty_parent', '--execute'], '2026-11-05T00:00:00Z');
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toContain('public.empty_parent: FAILED - cannot infer the interval of public.empty_parent: it has no partitions with bounds yet');
    expect(r.stdout).toContain('HINT: give --interval day, week, month or year');
  });

  it('computes bounds on the calendar of --partition-timezone', async () => {
    c.psql('CREATE TABLE berlin (ts timestamptz NOT NULL) PARTITION BY RANGE (ts);', DB);
    // 23:30 UTC on 31 December is already January in Berlin
    const r = await partitions(['create', '--table', 'berlin', '--interval', 'month', '--ahead', '1', '--partition-timezone', 'Europe/Berlin', '--execute'], '2026-12-31T23:30:00Z');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await partitionsOf('public', 'berlin')).toEqual([
      { name: 'berlin_p2027_01', bound: "FOR VALUES FROM ('2026-12-31 23:00:00+00') TO ('2027-01-31 23:00:00+00')" },
      { name: 'berlin_p2027_02', bound: "FOR VALUES FROM ('2027-01-31 23:00:00+00') TO ('2027-02-28 23:00:00+00')" },
    ]);
    const bad = await partitions(['create', '--table', 'berlin', '--partition-timezone', 'Mars/Olympus'], '2026-12-31T23:30:00Z');
    expect(bad.exitCode).toBe(3);
    expect(bad.stderr).toContain('unknown time zone \\"Mars/Olympus\\"');
  });

  it('creates nothing for a table whose default partition holds rows of a new partition, says how many, where, and the fix', async () => {
    // an identity column the fix must keep, a generated one it must leave to the server
    c.psql(`CREATE TABLE orders (id int GENERATED ALWAYS AS IDENTITY, ts timestamptz NOT NULL, day date GENERATED ALWAYS AS ((ts AT TIME ZONE 'UTC')::date) STORED) PARTITION BY RANGE (ts);
            CREATE TABLE orders_default PARTITION OF orders DEFAULT;
            ${monthly('orders', 12, 12)}
            INSERT INTO orders (ts) VALUES ('2026-12-05 10:00+00'), ('2027-01-15 10:00+00');
            CREATE TABLE audit (ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
            ${monthly('audit', 12, 12)}`, DB);
    const before = await partitionsOf('public', 'orders');
    const r = await partitions(['create', '--table', 'orders', '--table', 'audit', '--ahead', '2', '--execute', '--json'], '2026-12-10T00:00:00Z');
    expect(r.exitCode, r.stderr).toBe(2);
    const [orders, audit] = json(r).tables;
    expect(orders).toMatchObject({ status: 'blocked', created: [], blocked: { defaultPartition: 'public.orders_default', rows: 1, range: '[2027-01-01, 2027-02-01)', partition: 'orders_p2027_01' } });
    expect(orders.error).toBe('the default partition public.orders_default holds 1 row(s) in [2027-01-01, 2027-02-01), the range of the new partition orders_p2027_01: nothing was created for public.orders');
    expect(orders.blocked.fix).toContain('ALTER TABLE public.orders DETACH PARTITION public.orders_default;');
    expect(await partitionsOf('public', 'orders')).toEqual(before);
    // the other table went ahead
    expect(audit.created).toEqual(['audit_p2027_01', 'audit_p2027_02']);

    // the fix it prints works: afterwards the run creates the rest and the row sits in its own partition
    c.psql(orders.blocked.fix, DB);
    const fixed = await partitions(['create', '--table', 'orders', '--ahead', '2', '--execute', '--json'], '2026-12-10T00:00:00Z');
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    expect(json(fixed).tables[0].created).toEqual(['orders_p2027_02']);
    expect(await c.query(`SELECT tableoid::regclass::text AS part, id, day::text FROM orders ORDER BY id`, [], DB)).toEqual([
      { part: 'orders_p2026_12', id: 1, day: '2026-12-05' },
      { part: 'orders_p2027_01', id: 2, day: '2027-01-15' },
    ]);
  });

  it('treats names with quotes, spaces, non-ASCII letters and SQL in them as names', async () => {
    c.psql(`CREATE SCHEMA "odd schema";
            CREATE TABLE victim (x int);
            CREATE TABLE "odd schema"."Ev""ents ü" (ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
            CREATE TABLE "x""; DROP TABLE victim; --" (ts timestamptz NOT NULL) PARTITION BY RANGE (ts);`, DB);
    const tables = ['--table', '"odd schema"."Ev""ents ü"', '--table', 'public."x""; DROP TABLE victim; --"'];
    const r = await partitions(['create', ...tables, '--interval', 'month', '--ahead', '1', '--execute'], '2026-12-10T00:00:00Z');
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    expect(await names('odd schema', 'Ev"ents ü')).toEqual(['Ev"ents ü_p2026_12', 'Ev"ents ü_p2027_01']);
    expect(await names('public', 'x"; DROP TABLE victim; --')).toEqual(['x"; DROP TABLE victim; --_p2026_12', 'x"; DROP TABLE victim; --_p2027_01']);
    expect(await exists('public', 'victim')).toBe(true);
    const check = await partitions(['check', ...tables, '--ahead', '1'], '2026-12-10T00:00:00Z');
    expect(check.exitCode, check.stdout).toBe(0);
    const prune = await partitions(['prune', ...tables, '--keep', '1', '--execute'], '2027-03-10T00:00:00Z');
    expect(prune.exitCode, prune.stdout + prune.stderr).toBe(0);
    expect(await names('odd schema', 'Ev"ents ü')).toEqual(['Ev"ents ü_p2027_01']);
    expect(await exists('odd schema', 'Ev"ents ü_p2026_12')).toBe(true);
    expect(await exists('public', 'victim')).toBe(true);
  });

  it("gives new partitions the parent's owner when it runs as another role", async () => {
    c.psql(`CREATE ROLE app_owner; CREATE TABLE owned (ts timestamptz NOT NULL) PARTITION BY RANGE (ts); ALTER TABLE owned OWNER TO app_owner;`, DB);
    const r = await partitions(['create', '--table', 'owned', '--interval', 'year', '--ahead', '1', '--execute'], '2026-12-10T00:00:00Z');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("created owned_p2027 for 2027: FROM ('2027-01-01 00:00:00+00') TO ('2028-01-01 00:00:00+00'), owned by the parent's owner");
    expect(await c.query(`SELECT relname AS name, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname LIKE 'owned%' ORDER BY 1`, [], DB)).toEqual([
      { name: 'owned', owner: 'app_owner' },
      { name: 'owned_p2026', owner: 'app_owner' },
      { name: 'owned_p2027', owner: 'app_owner' },
    ]);
  });

  it("gives new partitions the parent's privileges, grant options and PUBLIC included, shown in the plan first", async () => {
    c.psql(
      `CREATE ROLE "report ing"; CREATE ROLE app_writer;
       CREATE TABLE granted (ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
       GRANT SELECT ON granted TO "report ing" WITH GRANT OPTION;
       GRANT INSERT, UPDATE ON granted TO app_writer;
       GRANT SELECT ON granted TO PUBLIC;`,
      DB,
    );
    const plan = await partitions(['create', '--table', 'granted', '--interval', 'year', '--ahead', '1', '--json'], '2026-12-10T00:00:00Z');
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(jsonData(plan.stdout).tables[0].create[0].grantSql).toEqual([
      'GRANT INSERT, UPDATE ON TABLE public.granted_p2026 TO app_writer',
      'GRANT SELECT ON TABLE public.granted_p2026 TO "report ing" WITH GRANT OPTION',
      'GRANT SELECT ON TABLE public.granted_p2026 TO PUBLIC',
    ]);
    expect(await exists('public', 'granted_p2026')).toBe(false);
    const r = await partitions(['create', '--table', 'granted', '--interval', 'year', '--ahead', '1', '--execute'], '2026-12-10T00:00:00Z');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain("with the parent's privileges (3 grants)");
    const acl = async (rel: string) =>
      (await c.query<{ g: string }>(`SELECT coalesce(pg_get_userbyid(nullif(a.grantee, 0)), 'PUBLIC') || ':' || a.privilege_type || (CASE WHEN a.is_grantable THEN '*' ELSE '' END) AS g FROM pg_class k, aclexplode(k.relacl) a WHERE k.oid = $1::regclass AND a.grantee <> k.relowner ORDER BY 1`, [rel], DB)).map((x) => x.g);
    expect(await acl('granted_p2026')).toEqual(await acl('granted'));
    expect(await acl('granted_p2026')).toEqual(['PUBLIC:SELECT', 'app_writer:INSERT', 'app_writer:UPDATE', 'report ing:SELECT*']);
  });

  it('needs tables to work on', async () => {
    const r = await partitions(['create'], '2026-12-10T00:00:00Z');
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('no tables to manage');
  });
});

describe('partitions prune', () => {
  it('detaches by default (concurrently without a default partition), honours --keep, and changes nothing in a dry run', async () => {
    c.psql(`CREATE TABLE logs (ts timestamptz NOT NULL) PARTITION BY RANGE (ts);\n${monthly('logs', 1, 12)}`, DB);
    const dry = await partitions(['prune', '--table', 'logs', '--keep', '3'], '2026-12-15T00:00:00Z');
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('public.logs (month, inferred from logs_p2026_12): prunes partitions ending on or before 2026-09-01; keeps 4 (newest logs_p2026_12, never pruned)');
    expect(dry.stdout).toContain('detach concurrently public.logs_p2026_08 [2026-08-01, 2026-09-01)');
    expect(dry.stdout).toContain('8 partition(s) to detach');
    expect(await names('public', 'logs')).toHaveLength(12);

    const run = await partitions(['prune', '--table', 'logs', '--keep', '3', '--execute', '--json'], '2026-12-15T00:00:00Z');
    expect(run.exitCode, run.stderr).toBe(0);
    expect(json(run).tables[0].steps.map((s: { name: string; done: string[] }) => `${s.name}:${s.done}`)).toEqual(
      ['01', '02', '03', '04', '05', '06', '07', '08'].map((m) => `logs_p2026_${m}:detached`),
    );
    expect(await names('public', 'logs')).toEqual(['logs_p2026_09', 'logs_p2026_10', 'logs_p2026_11', 'logs_p2026_12']);
    // detached, not dropped: the old months are standalone tables now
    expect(await c.query(`SELECT relispartition FROM pg_class WHERE relname = 'logs_p2026_01'`, [], DB)).toEqual([{ relispartition: false }]);
    const again = await partitions(['prune', '--table', 'logs', '--keep', '3', '--execute'], '2026-12-15T00:00:00Z');
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('nothing to prune');
  });

  it('with a default partition detaches without CONCURRENTLY, and --drop drops', async () => {
    c.psql(`CREATE TABLE logs_d (ts timestamptz NOT NULL) PARTITION BY RANGE (ts);
            CREATE TABLE logs_d_default PARTITION OF logs_d DEFAULT;\n${monthly('logs_d', 1, 4)}`, DB);
    const r = await partitions(['prune', '--table', 'logs_d', '--keep', '1', '--drop', '--execute', '--json'], '2026-06-15T00:00:00Z');
    expect(r.exitCode, r.stderr).toBe(0);
    const steps = json(r).tables[0].steps;
    expect(steps.map((s: { name: string }) => s.name)).toEqual(['logs_d_p2026_01', 'logs_d_p2026_02', 'logs_d_p2026_03']);
    expect(steps[0]).toMatchObject({ detach: 'plain', done: ['detached', 'dropped'], detachSql: 'ALTER TABLE public.logs_d DETACH PARTITION public.logs_d_p2026_01' });
    expect(await names('public', 'logs_d')).toEqual(['logs_d_default', 'logs_d_p2026_04']);
    expect(await exists('public', 'logs_d_p2026_01')).toBe(false);
  });

  it('asks a person at a terminal to type the database name before --drop, and drops nothing on a wrong answer', async () => {
    c.psql(`CREATE TABLE logs_t (ts timestamptz NOT NULL) PARTITION BY RANGE (ts);\n${monthly('logs_t', 1, 4)}`, DB);
    const prune = (typed: string) => {
      const t = answeringTerminal(typed);
      return runCli(['partitions', 'prune', '--table', 'logs_t', '--keep', '1', '--drop', '--execute', '--db', c.url(DB)], {}, at('2026-06-15T00:00:00Z'), { terminal: t.terminal }).then((r) => ({ ...r, shown: t.shown() }));
    };
    const wrong = await prune('nope');
    expect(wrong.shown).toContain(`drop 3 partition(s) of public.logs_t (no --archive: their rows are gone)\nType ${DB} to go on`);
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toContain(`not confirmed: \\"nope\\" is not ${DB}; nothing was changed`);
    expect(await names('public', 'logs_t')).toEqual(['logs_t_p2026_01', 'logs_t_p2026_02', 'logs_t_p2026_03', 'logs_t_p2026_04']);
    const right = await prune(DB);
    expect(right.exitCode, right.stderr).toBe(0);
    expect(await names('public', 'logs_t')).toEqual(['logs_t_p2026_04']);
  });

  it('archives each partition into the repository before dropping it, and never prunes the newest', async () => {
    c.psql(`CREATE TABLE arch (id int, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);\n${monthly('arch', 1, 3)}
            INSERT INTO arch SELECT g, '2026-01-01'::timestamptz + g * interval '1 day' FROM generate_series(0, 80) g;`, DB);
    const repo = path.join(dir, 'repo');
    await initTestRepo(`file://${repo}`);
    const r = await partitions(['prune', '--table', 'arch', '--keep', '1', '--archive', '--repo', `file://${repo}`, '--drop', '--execute', '--json'], '2026-12-15T00:00:00Z');
    expect(r.exitCode, r.stderr).toBe(0);
    const steps = json(r).tables[0].steps;
    expect(steps.map((s: { name: string; done: string[] }) => `${s.name}:${s.done}`)).toEqual(['arch_p2026_01:archived,detached,dropped', 'arch_p2026_02:archived,detached,dropped']);
    expect(await names('public', 'arch')).toEqual(['arch_p2026_03']);
    const folder = path.join(repo, 'archives', DB, 'partitions', 'public', 'arch');
    expect(fs.readdirSync(folder).sort()).toEqual(['arch_p2026_01-20261215T000000Z.dump', 'arch_p2026_01-20261215T000000Z.json', 'arch_p2026_02-20261215T000000Z.dump', 'arch_p2026_02-20261215T000000Z.json']);
    const record = JSON.parse(fs.readFileSync(path.join(folder, 'arch_p2026_01-20261215T000000Z.json'), 'utf8'));
    const dump = fs.readFileSync(path.join(folder, 'arch_p2026_01-20261215T000000Z.dump'));
    expect(record).toMatchObject({ format: 'pgops-partition-archive', database: DB, table: { schema: 'public', name: 'arch' }, partition: { name: 'arch_p2026_01' } });
    expect(record.dump).toEqual({ key: 'archives/maint/partitions/public/arch/arch_p2026_01-20261215T000000Z.dump', size: dump.length, sha256: createHash('sha256').update(dump).digest('hex'), format: 'custom' });
    // the dump holds the partition's rows: restore it into a scratch database
    await c.query('CREATE DATABASE scratch');
    c.psql('CREATE TABLE arch (id int, ts timestamptz NOT NULL) PARTITION BY RANGE (ts);', 'scratch');
    execFileSync('pg_restore', ['-h', c.dir, '-p', String(c.port), '-U', 'root', '-d', 'scratch', path.join(folder, 'arch_p2026_01-20261215T000000Z.dump')]);
    expect(await c.query(`SELECT count(*)::int AS n, min(id) AS lo, max(id) AS hi FROM arch`, [], 'scratch')).toEqual([{ n: 31, lo: 0, hi: 30 }]);
  });

  it('gives up on a lock after --lock-timeout instead of queueing, and the next run finishes a half-done concurrent detach', async () => {
    c.psql(`CREATE TABLE busy (ts timestamptz NOT NULL) PARTITION BY RANGE (ts);\n${monthly('busy', 1, 4)}`, DB);
    const holder = await openSession();
    try {
      // a reader's open transaction: DETACH ... CONCURRENTLY must wait for it in its second step
      await holder.query('BEGIN');
      await holder.query('SELECT count(*) FROM busy');
      // it ends while the reader still holds its transaction: only --lock-timeout can end the wait (no timing asserted)
      const r = await partitions(['prune', '--table', 'busy', '--keep', '1', '--lock-timeout', '300ms', '--execute', '--json'], '2026-06-15T00:00:00Z');
      expect(r.exitCode).toBe(2);
      const plan = json(r).tables[0];
      expect(plan.status).toBe('failed');
      expect(plan.error).toMatch(/lock timeout/);
      expect(plan.hint).toMatch(/--lock-timeout/);
      // the partition was left detach-pending; the others were not touched
      expect(await c.query(`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhdetachpending`, [], DB)).toEqual([{ name: 'busy_p2026_01' }]);
      // creating partitions needs an ACCESS EXCLUSIVE lock on the parent: it times out too, and creates nothing
      const create = await partitions(['create', '--table', 'busy', '--lock-timeout', '300ms', '--execute', '--json'], '2026-06-15T00:00:00Z');
      expect(create.exitCode).toBe(2);
      expect(json(create).tables[0]).toMatchObject({ status: 'failed', created: [] });
      expect(json(create).tables[0].error).toMatch(/^creating the partitions of public.busy failed, none was created: .*lock timeout/);
    } finally {
      await holder.query('COMMIT');
    }
    const next = await partitions(['prune', '--table', 'busy', '--keep', '1', '--execute', '--json'], '2026-06-15T00:00:00Z');
    expect(next.exitCode, next.stdout).toBe(0);
    expect(json(next).tables[0].steps.map((s: { name: string; detach: string; done: string[] }) => `${s.name}:${s.detach}:${s.done}`)).toEqual([
      'busy_p2026_01:finalize:detached',
      'busy_p2026_02:concurrently:detached',
      'busy_p2026_03:concurrently:detached',
    ]);
    expect(await names('public', 'busy')).toEqual(['busy_p2026_04']);
    await holder.end();
  });

  it('needs --keep', async () => {
    const r = await partitions(['prune', '--table', 'logs'], '2026-12-15T00:00:00Z');
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('partitions prune needs --keep N');
  });
});

describe('partitions check', () => {
  beforeAll(() => {
    c.psql(`CREATE TABLE chk (ts timestamptz NOT NULL) PARTITION BY RANGE (ts);\n${monthly('chk', 12, 12)}\n${monthly('chk', 1, 3, 2027)}`, DB);
  });

  it('is OK with the current period and --ahead periods covered, with perfdata', async () => {
    const r = await partitions(['check', '--table', 'chk', '--ahead', '3'], '2026-12-15T00:00:00Z');
    expect(r.exitCode).toBe(0);
    // one line: OK names no runbook page
    expect(r.stdout.trim()).toBe(`PGOPS PARTITIONS OK - public.chk: the current and the next 3 months have partitions | 'public.chk current'=1;;1:;0;1 'public.chk future'=3;3:;;0`);
    expect(json(await partitions(['check', '--table', 'chk', '--ahead', '3', '--json'], '2026-12-15T00:00:00Z')).runbook).toEqual([]);
  });

  it('warns when fewer than --ahead future periods have partitions', async () => {
    const r = await partitions(['check', '--table', 'chk', '--ahead', '4'], '2026-12-15T00:00:00Z');
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^PGOPS PARTITIONS WARNING - public.chk: 3 of 4 future months have partitions \(2027-04 has none\) \|/);
    expect(r.stdout.split('\n').slice(1)).toEqual(['runbook: runbooks/partition-missing.md', '']);
  });

  it('is CRITICAL when the current period has none, and UNKNOWN for a table that does not exist', async () => {
    const r = await partitions(['check', '--table', 'chk', '--json'], '2027-04-02T00:00:00Z');
    expect(r.exitCode).toBe(2);
    expect(json(r).tables[0]).toMatchObject({ level: 2, kind: 'current-missing', currentCovered: false, message: 'public.chk: the current month 2027-04 has no partition' });
    expect(json(r).runbook).toEqual(['runbooks/partition-missing.md']);
    const missing = await partitions(['check', '--table', 'chk', '--table', 'nope'], '2026-12-15T00:00:00Z');
    expect(missing.exitCode).toBe(3);
    expect(missing.stdout).toMatch(/^PGOPS PARTITIONS UNKNOWN - public.nope: table public.nope does not exist; public.chk: the current/);
    // UNKNOWN names no page: the table or the connection is what to fix
    expect(missing.stdout).not.toContain('runbook:');
  });
});
