import fs from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followPage } from '../../tools/runbook-drill/follow.ts';
import { runCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { clusterHost, drillScratch, recordPassed } from '../support/drill.ts';

// runbooks/connections-exhausted.md as a drill: a server with max_connections 40 (2 reserved for superusers) and an
// application role whose leaking pool holds every other slot: one session runs a long query, the rest sit idle or
// idle in a transaction with an uncommitted insert. A new client of the application is refused; then the page, step
// by step, as a superuser. Afterwards the application's role gets in again, the idle sessions are gone with their
// uncommitted rows, and the session that was running its query still runs it.

const FAILURE = 'idle and idle-in-transaction sessions of one role hold every slot below the superuser reserve';
const DB = 'app';
const APP = 'web';
const REFUSED = /remaining connection slots are reserved for non-replication superuser connections|too many clients already/;

describe('runbooks/connections-exhausted.md, drilled', () => {
  let cluster: Cluster;
  let scratch: string;
  const pool: { client: pg.Client; pid: number }[] = [];
  let busy: { client: pg.Client; pid: number; running: Promise<unknown> };

  beforeAll(async () => {
    cluster = await startCluster({ settings: { max_connections: 40, superuser_reserved_connections: 2 } });
    cluster.psql(`CREATE ROLE ${APP} LOGIN; CREATE DATABASE ${DB} OWNER ${APP};`);
    cluster.psql(`SET ROLE ${APP}; CREATE TABLE orders (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, note text NOT NULL); INSERT INTO orders (note) SELECT 'committed' FROM generate_series(1, 100);`, DB);
    scratch = drillScratch('connections-exhausted');
  });

  afterAll(async () => {
    await Promise.all([busy?.client, ...pool.map((s) => s.client)].map((c) => c?.end().catch(() => {})));
    await cluster?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('fails as the page says: the application is refused, the superuser gets in, health is CRITICAL', async () => {
    // the test's own superuser session is open before the pool fills the server, as the monitoring's would be
    await cluster.query('SELECT 1');
    const first = await connectAs(cluster, APP, DB, 'rails');
    busy = { ...first, running: first.client.query('SELECT pg_sleep(600)').catch((e: Error) => e) };
    // the pool opens connections until the server turns it away: every third idle in a transaction, holding a row
    let refusal: Error | undefined;
    for (let i = 0; i < 40 && !refusal; i++) {
      try {
        const s = await connectAs(cluster, APP, DB, 'rails');
        if (i % 3 === 0) {
          await s.client.query('BEGIN');
          await s.client.query(`INSERT INTO orders (note) VALUES ('uncommitted')`);
        } else {
          await s.client.query('SELECT count(*) FROM orders');
        }
        pool.push(s);
      } catch (err) {
        refusal = err as Error;
      }
    }
    expect(refusal?.message).toMatch(REFUSED);
    expect(pool.length).toBeGreaterThan(30);
    await until(cluster, `SELECT 1 FROM pg_stat_activity WHERE pid = ${busy.pid} AND state = 'active' AND query LIKE '%pg_sleep%'`);

    const health = await runCli(['health', '--db', cluster.url(DB)]);
    expect(health.exitCode, health.stdout + health.stderr).toBe(2);
    expect(health.stdout).toMatch(/^PGOPS HEALTH CRITICAL - connections 39 of max_connections 40/);
  });

  it('following the page fixes it', async () => {
    // the engineer chooses limits below the age step 2 shows: here every pooled session has been idle over 2s
    await until(cluster, `SELECT 1 FROM pg_stat_activity WHERE usename = '${APP}' AND state LIKE 'idle%' HAVING min(now() - state_change) > interval '2s'`);
    const r = await followPage({
      page: 'connections-exhausted.md',
      host: clusterHost(cluster),
      cwd: scratch,
      binds: { database: DB, user: APP, 'idle limit': '1s', 'idle in transaction limit': '1s' },
      exits: { '1-connections-by-state:1': [2] },
      judgements: {
        '4-max_connections-or-a-pooler:1': { skip: 'the sessions were a leaking pool, not load: ending them freed the slots, no restart' },
      },
    });
    expect(r.runs.find((x) => x.id === '1-connections-by-state:1')?.output).toMatch(/CRITICAL - connections 39 of max_connections 40/);
    expect(r.runs.find((x) => x.id === '2-who-holds-them:1')?.output).toMatch(new RegExp(`${APP}\\s*\\|\\s*rails`));
    expect(r.runs.find((x) => x.id === '3-end-idle-sessions:1')?.output).toContain(`${pool.length} session(s) would be terminated`);
    expect(r.verifyOutput).toMatch(/^PGOPS HEALTH OK - /m);
    expect(r.verifyOutput).toMatch(new RegExp(`^\\s*${APP}\\s*\\|`, 'm'));

    // every pooled session is gone, their transactions rolled back; the one running a query still runs it
    const left = await cluster.query<{ pid: number; state: string }>(`SELECT pid, state FROM pg_stat_activity WHERE usename = $1`, [APP]);
    expect(left).toEqual([{ pid: busy.pid, state: 'active' }]);
    const notes = await cluster.query<{ note: string; n: number }>('SELECT note, count(*)::int AS n FROM orders GROUP BY note', [], DB);
    expect(notes).toEqual([{ note: 'committed', n: 100 }]);
    recordPassed(FAILURE, r);

    await cluster.query('SELECT pg_cancel_backend($1)', [busy.pid]);
    expect(String(await busy.running)).toMatch(/canceling statement/);
  });
});

// A session of `user` on `database` over TCP, as the application's pool opens one; returns it with its pid.
async function connectAs(cluster: Cluster, user: string, database: string, application: string): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ host: '127.0.0.1', port: cluster.port, user, database, application_name: application });
  // a session the page's cleanup terminates errors on its own time: that is the point, not a failure of the test
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return { client, pid: rows[0].pid };
}

// Waits until `sql` returns a row (polling every 50 ms), for at most a minute.
async function until(cluster: Cluster, sql: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
    if ((await cluster.query(sql)).length) return;
  }
  throw new Error(`timed out after 60s waiting for: ${sql}`);
}
