import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followPage, type FollowContext } from '../../tools/runbook-drill/follow.ts';
import { runCli } from '../support/cli.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { clusterHost, drillScratch, recordPassed } from '../support/drill.ts';

// runbooks/partition-missing.md as a drill, twice on one server: public.events, partitioned by month on created_at,
// whose daily `pgops partitions create` stopped three months ago, so that it has partitions for the three months
// before this one and none for this one.
//   app:          no default partition: every insert of this month fails, and the page creates the partitions;
//   app_default:  a default partition caught this month's rows (and two rows of a wrong clock in 1970): create is
//                 BLOCKED, and the page moves the rows out with the statements the plan printed, then creates.
// Afterwards the check is OK, the insert that failed works and lands in this month's partition, and no row is lost.
// The months are the server's (UTC); a drill that starts in the last seconds of a month may see the next one.

const FAILURE = 'a monthly partitioned table has no partition for this month: every insert fails with no partition found for row';
const INSERT = `INSERT INTO public.events (payload) VALUES ('checkout') RETURNING tableoid::regclass::text AS partition`;

// The table as the old job left it: partitions events_pYYYY_MM for the three months before this one, no later ones.
// Its id is GENERATED ALWAYS: the fix that create prints keeps the ids of the rows it moves (OVERRIDING SYSTEM VALUE).
const EVENTS = `
  CREATE TABLE public.events (id bigint GENERATED ALWAYS AS IDENTITY, created_at timestamptz NOT NULL DEFAULT now(), payload text NOT NULL) PARTITION BY RANGE (created_at);
  DO $$
  DECLARE m timestamp;
  BEGIN
    FOR i IN 1..3 LOOP
      m := date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => i);
      EXECUTE format('CREATE TABLE public.%I PARTITION OF public.events FOR VALUES FROM (%L) TO (%L)',
                     'events_p' || to_char(m, 'YYYY_MM'), m AT TIME ZONE 'UTC', (m + interval '1 month') AT TIME ZONE 'UTC');
      EXECUTE format('INSERT INTO public.events (created_at, payload) SELECT %L::timestamptz + g * interval ''1 hour'', ''old'' FROM generate_series(1, 100) g', m AT TIME ZONE 'UTC');
    END LOOP;
  END $$;`;

describe('runbooks/partition-missing.md, drilled', () => {
  let cluster: Cluster;
  let scratch: string;
  let thisMonth: string;

  const follow = (database: string, exits: Record<string, number[]>, judgements: Parameters<typeof followPage>[0]['judgements']) =>
    followPage({
      page: 'partition-missing.md',
      host: clusterHost(cluster),
      cwd: scratch,
      binds: { database, 'key column': 'created_at', 'the statements the plan printed': printedFix },
      exits,
      judgements,
    });
  const check = (database: string) => runCli(['partitions', 'check', '--db', cluster.url(database), '--table', 'public.events', '--ahead', '3']);
  const partitions = async (database: string) =>
    (await cluster.query<{ name: string }>(`SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'public.events'::regclass ORDER BY 1`, [], database)).map((r) => r.name);
  const rowsByPartition = async (database: string) =>
    Object.fromEntries((await cluster.query<{ p: string; n: number }>('SELECT tableoid::regclass::text AS p, count(*)::int AS n FROM public.events GROUP BY 1', [], database)).map((r) => [r.p, r.n]));

  beforeAll(async () => {
    cluster = await startCluster();
    for (const db of ['app', 'app_default']) {
      await cluster.query(`CREATE DATABASE ${db}`);
      cluster.psql(EVENTS, db);
    }
    cluster.psql(`CREATE TABLE public.events_default PARTITION OF public.events DEFAULT;
                  INSERT INTO public.events (payload) SELECT 'this month' FROM generate_series(1, 5);
                  INSERT INTO public.events (created_at, payload) VALUES ('1970-01-01 00:00+00', 'wrong clock'), ('1970-01-02 00:00+00', 'wrong clock');`, 'app_default');
    [{ thisMonth }] = await cluster.query<{ thisMonth: string }>(`SELECT 'events_p' || to_char(now() AT TIME ZONE 'UTC', 'YYYY_MM') AS "thisMonth"`);
    scratch = drillScratch('partition-missing');
  });

  afterAll(async () => {
    await cluster?.stop();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('fails as the page says: the insert finds no partition, and the check is CRITICAL', async () => {
    await expect(cluster.query(INSERT, [], 'app')).rejects.toThrow(/no partition of relation "events" found for row/);
    const r = await check('app');
    expect(r.exitCode, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).toMatch(/^PGOPS PARTITIONS CRITICAL - public\.events: the current month \d{4}-\d\d has no partition/);
  });

  it('following the page fixes it: the partitions exist, and the insert that failed is stored in this month', async () => {
    const r = await follow('app', { '1-check:1': [2], '2-read-the-plan:1': [0] }, {
      '3-move-rows-out-of-the-default-partition:1': { skip: 'the plan is not BLOCKED: the table has no default partition' },
      '3-move-rows-out-of-the-default-partition:2': { skip: 'the plan is not BLOCKED: the table has no default partition' },
    });
    expect(r.runs.find((x) => x.id === '2-read-the-plan:1')?.output).toContain(`create ${thisMonth} for `);
    expect(r.verifyOutput).toMatch(/^PGOPS PARTITIONS OK - public\.events: the current and the next 3 months have partitions/m);
    // this month and three more; the old ones as they were
    expect(await partitions('app')).toHaveLength(7);
    expect(await partitions('app')).toContain(thisMonth);
    const [stored] = await cluster.query<{ partition: string }>(INSERT, [], 'app');
    expect(stored.partition).toBe(thisMonth);
    expect(Object.values(await rowsByPartition('app')).reduce((a, b) => a + b, 0)).toBe(301);
    recordPassed(FAILURE, r);
  });

  it('with a default partition: create is BLOCKED, and the page moves this month\'s rows out of it', async () => {
    const before = await rowsByPartition('app_default');
    expect(before['events_default']).toBe(7);
    const blocked = await check('app_default');
    expect(blocked.exitCode, blocked.stdout + blocked.stderr).toBe(2);

    const r = await follow('app_default', { '1-check:1': [2], '2-read-the-plan:1': [2] }, {
      '3-move-rows-out-of-the-default-partition:1': { run: true, why: 'the plan says BLOCKED: see what the default partition holds' },
      '3-move-rows-out-of-the-default-partition:2': { run: true, why: "this month's rows are real orders: move them with the statements the plan printed" },
    });
    expect(r.runs.find((x) => x.id === '2-read-the-plan:1')?.output).toMatch(/BLOCKED - the default partition public\.events_default holds 5 row\(s\)/);
    expect(r.runs.find((x) => x.id === '3-move-rows-out-of-the-default-partition:1')?.output).toMatch(/^ 1970-01-01 [^|]*\|\s+2\n[^|]*\|\s+5\n/m);
    expect(r.verifyOutput).toMatch(/^PGOPS PARTITIONS OK - /m);
    // this month's five rows are in their partition; the wrong clock's two stay in the default partition; none lost
    const after = await rowsByPartition('app_default');
    expect(after).toMatchObject({ events_default: 2, [thisMonth]: 5 });
    expect(Object.values(after).reduce((a, b) => a + b, 0)).toBe(307);
    expect(await partitions('app_default')).toHaveLength(8);
    expect((await cluster.query<{ partition: string }>(INSERT, [], 'app_default'))[0].partition).toBe(thisMonth);
  });
});

// What the engineer pastes at step 3: the statements the BLOCKED plan printed, from BEGIN; to COMMIT;.
function printedFix(ctx: FollowContext): string {
  const plan = ctx.outputs.get('2-read-the-plan:1') ?? '';
  const m = /^ {4}BEGIN;\n[\s\S]*?^ {4}COMMIT;$/m.exec(plan);
  if (!m) throw new Error(`the plan printed no statements to move the rows:\n${plan}`);
  return m[0].replace(/^ {4}/gm, '');
}
