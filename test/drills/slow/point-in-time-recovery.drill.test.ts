import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followPage, type FollowContext, type FollowResult } from '../../../tools/runbook-drill/follow.ts';
import { runCli } from '../../support/cli.ts';
import { clusterHost, drillScratch, recordPassed } from '../../support/drill.ts';
import { pitrWorld, recoveredCopy, rowsOf, runPageStep, type Order, type PitrWorld, type RecoveredCopy } from '../../support/drill-pitr.ts';

// runbooks/point-in-time-recovery.md as a drill: a cluster archiving into a folder repository with pgops wal push
// and logging its modifying statements, a base backup, rows after it, a mistaken DELETE committed, more rows after
// that; then the page, step by step: it archives the segment, reads the statement's time in the log, picks the
// segment archived after it, finds the transaction with pg_waldump, recovers to just before its COMMIT into a new
// data directory (paused, on another port), and copies the deleted rows back. The live table must hold every row
// ever committed on purpose, the later ones too. (This replaces test/integration/runbook-pitr.test.ts: the last two
// tests recover to the page's other targets, and to the one it warns against, with the page's own recover step.)

const PAGE = 'point-in-time-recovery.md';
const FAILURE = "rows deleted by a mistaken DELETE after a base backup, more rows committed after it";
const FIND = 'from-the-archived-wal-with-pg_waldump-exact';
const RECOVER = '4-recover-into-a-new-data-directory-paused-at-the-target:1';
// the new data directory on the page
const COPY_DIR = '/var/lib/postgresql/15/pitr';

describe('runbooks/point-in-time-recovery.md, drilled', () => {
  let w: PitrWorld;
  let scratch: string;
  let copy: RecoveredCopy;
  const copies: RecoveredCopy[] = [];
  // every row committed on purpose, and what the mistake removed
  let expected: Order[];
  let deleted: Order[];
  let followed: FollowResult | undefined;

  beforeAll(async () => {
    w = await pitrWorld({ log_statement: 'mod', log_timezone: 'UTC' });
    scratch = drillScratch(PAGE);
    copy = await recoveredCopy(scratch, COPY_DIR, 'pitr');
    copies.push(copy);
  });

  afterAll(async () => {
    for (const c of copies) await c.stop();
    await w?.cleanup();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('fails as the page says: the deleted rows are gone from the live table, the later ones are there', async () => {
    const { cluster } = w;
    await cluster.query('CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, status text NOT NULL)', [], 'app');
    await cluster.query(`INSERT INTO orders SELECT g, 'c' || (g % 7), CASE WHEN g % 3 = 0 THEN 'cancelled' ELSE 'open' END FROM generate_series(1, 60) g`, [], 'app');
    const b = await runCli(['basebackup', '--db', cluster.url(), '--repo', w.archive.url, '--json']);
    expect(b.exitCode, b.stderr).toBe(0);
    // rows only the WAL after the base backup holds, then the mistake, then rows written after it
    await cluster.query(`INSERT INTO orders SELECT g, 'c' || (g % 7), CASE WHEN g % 3 = 0 THEN 'cancelled' ELSE 'open' END FROM generate_series(61, 90) g`, [], 'app');
    const before = await rowsOf(cluster.port, 'app');
    await cluster.query(`DELETE FROM orders WHERE status = 'cancelled'`, [], 'app');
    await cluster.query(`INSERT INTO orders SELECT g, 'late', CASE WHEN g % 2 = 0 THEN 'cancelled' ELSE 'open' END FROM generate_series(91, 100) g`, [], 'app');
    const late = (await rowsOf(cluster.port, 'app')).filter((r) => r.id > 90);
    expected = [...before, ...late];
    deleted = before.filter((r) => r.status === 'cancelled');
    expect(deleted).toHaveLength(30);
    const live = await rowsOf(cluster.port, 'app');
    expect(live.filter((r) => r.id <= 90 && r.status === 'cancelled')).toEqual([]);
    expect(live).toHaveLength(expected.length - deleted.length);
  });

  it('following the page brings every deleted row back, and keeps the later ones', async () => {
    const r = await followPage({
      page: 'point-in-time-recovery.md',
      host: clusterHost(w.cluster, { fileRepo: w.root, more: copy.rewrites }),
      cwd: scratch,
      binds: {
        repo: w.archive.url,
        // what the engineer reads off the steps before
        'system id': (ctx) => match(ctx, '1-check-that-there-is-something-to-recover-from:1', /^(\d{15,})\s+\S+\s+complete\b/m),
        segment: segmentArchivedAfterTheStatement,
        relfile: (ctx) => match(ctx, `${FIND}:4`, /^(\d+\/\d+)$/m),
        xid: (ctx) => match(ctx, `${FIND}:5`, / tx: +(\d+), /),
        // the prev of the mistaken transaction's COMMIT: the second line the -B1 grep printed
        'target-lsn': (ctx) => mistakenCommit(ctx).prev,
      },
      judgements: {
        'from-the-server-log:1': { run: true, why: 'the server logs modifying statements (log_statement = mod): the time of the DELETE' },
        [`${FIND}:1`]: { run: true, why: 'a folder repository: its listing shows when each segment was archived' },
        [`${FIND}:7`]: { skip: 'rows were deleted; no table was dropped or truncated' },
        '6-copy-the-rows-back-into-the-live-database:4': { skip: 'the table is there: its rows go back through the staging schema' },
        '7-or-switch-over-to-the-recovered-server:1': { skip: 'the damage is one table: the rows are copied back, no switch-over' },
        '8-clean-up:2': { skip: 'the staging schema stays until the owners checked the data (the verify step reads it); dropped after it below' },
      },
    });
    const out = (id: string) => r.runs.find((x) => x.id === id)?.output ?? '';
    expect(out('2-archive-the-wal-that-holds-the-mistake:1')).toMatch(/^PGOPS WAL OK - /m);
    expect(out(`${FIND}:6`).trim().split('\n')).toHaveLength(2);
    expect(out('6-copy-the-rows-back-into-the-live-database:2')).toMatch(new RegExp(`^\\s+${deleted.length}$`, 'm'));
    expect(out('6-copy-the-rows-back-into-the-live-database:3')).toContain(`INSERT 0 ${deleted.length}`);
    // the page's verify: no row of the copy is missing from the live table
    expect(r.verifyOutput.trim()).toBe('0');
    // the data: every row, the deleted ones and the later ones; the copy is stopped and gone
    expect(await rowsOf(w.cluster.port, 'app')).toEqual(expected);
    expect(fs.existsSync(copy.pgdata)).toBe(false);
    expect(fs.existsSync(path.join(scratch, 'pitr-wal'))).toBe(false);
    recordPassed(FAILURE, r);
    followed = r;
  });

  it("the staging schema goes with the page's step once the owners checked", async () => {
    const r = await runPageStep(PAGE, '8-clean-up:2', { host: clusterHost(w.cluster), cwd: scratch, binds: {} });
    expect(r.exitCode, r.output).toBe(0);
    expect(await w.cluster.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'pgops_recovered'`, [], 'app')).toEqual([]);
  });

  // The page's recover step with another target, into another new directory: the rows the copy holds.
  async function recoverTo(target: string): Promise<Order[]> {
    const c = await recoveredCopy(scratch, COPY_DIR, `pitr-${copies.length + 1}`);
    copies.push(c);
    const r = await runPageStep(PAGE, RECOVER, {
      host: clusterHost(w.cluster, { more: c.rewrites }),
      cwd: scratch,
      binds: { repo: w.archive.url },
      edit: (code) => code.replace('--target-lsn <target-lsn>', target),
    });
    expect(r.exitCode, r.output).toBe(0);
    const rows = await rowsOf(c.port, 'app');
    await c.stop();
    return rows;
  }

  it("the table's other targets land on the same moment: --target-xid of the COMMIT before, --target-time 1 µs before", async () => {
    const ctx = contextOf(followed);
    const before = / tx: +(\d+), /.exec(commitLines(ctx)[0])![1];
    expect(await recoverTo(`--target-xid ${before}`)).toEqual(expected.filter((r) => r.id <= 90));
    expect(await recoverTo(`--target-time '${microsecondBefore(mistakenCommit(ctx).time)}+00'`)).toEqual(expected.filter((r) => r.id <= 90));
  });

  it("the target the page warns against, the mistaken transaction's own xid, replays the mistake (inclusive)", async () => {
    const xid = match(contextOf(followed), `${FIND}:5`, / tx: +(\d+), /);
    const rows = await recoverTo(`--target-xid ${xid}`);
    expect(rows.filter((r) => r.status === 'cancelled')).toEqual([]);
    expect(rows).toHaveLength(expected.filter((r) => r.id <= 90).length - deleted.length);
  });
});

// The first group of pattern in what step id printed; the drill stops when the step did not print it.
function match(ctx: FollowContext, id: string, pattern: RegExp): string {
  const m = pattern.exec(ctx.outputs.get(id) ?? '');
  if (!m) throw new Error(`step ${id} printed nothing like ${pattern}:\n${ctx.outputs.get(id)}`);
  return m[1];
}

// What the followed page printed, for the tests after it.
function contextOf(r: FollowResult | undefined): FollowContext {
  if (!r) throw new Error('the page was not followed to its end (the test before failed): no outputs to read the targets from');
  return { outputs: new Map(r.runs.map((x) => [x.id, x.output])), last: '' };
}

// The two COMMIT lines the -B1 grep printed: the one before the mistake, then the mistaken one.
function commitLines(ctx: FollowContext): string[] {
  const lines = (ctx.outputs.get(`${FIND}:6`) ?? '').trim().split('\n');
  if (lines.length !== 2) throw new Error(`the -B1 grep printed ${lines.length} lines, not the COMMIT before and the mistaken one:\n${lines.join('\n')}`);
  return lines;
}

function mistakenCommit(ctx: FollowContext): { prev: string; time: string } {
  const m = /, prev ([0-9A-F]+\/[0-9A-F]+), desc: COMMIT (\S+ \S+) UTC/.exec(commitLines(ctx)[1]);
  if (!m) throw new Error(`not a COMMIT line: ${commitLines(ctx)[1]}`);
  return { prev: m[1], time: m[2] };
}

// As the page says: the first segment archived after the time the log gave. The log prints milliseconds, so the
// statement started before that time plus 1 ms; the segment before it was archived before the statement started,
// and the one holding it only when step 2 switched it.
function segmentArchivedAfterTheStatement(ctx: FollowContext): string {
  const at = /(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}\.\d{3}) UTC .*statement: DELETE /.exec(ctx.outputs.get('from-the-server-log:1') ?? '');
  if (!at) throw new Error(`the log names no DELETE:\n${ctx.outputs.get('from-the-server-log:1')}`);
  const statement = Date.parse(`${at[1]}T${at[2]}Z`);
  const listing = ctx.outputs.get(`${FIND}:1`) ?? '';
  for (const m of listing.matchAll(/ (\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)? ([+-]\d{2})(\d{2}) ([0-9A-F]{24})$/gm)) {
    const archived = Date.parse(`${m[1]}T${m[2]}${(m[3] ?? '').slice(0, 4)}${m[4]}:${m[5]}`);
    if (archived >= statement + 1) return m[6];
  }
  throw new Error(`no segment archived after ${at[1]} ${at[2]} UTC in:\n${listing}`);
}

// '2026-12-01 13:21:43.258511' less one microsecond, as PostgreSQL prints timestamps.
function microsecondBefore(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?$/.exec(text);
  if (!m) throw new Error(`not a pg_waldump time: ${text}`);
  const micros = BigInt(Date.parse(`${m[1]}T${m[2]}Z`)) * 1000n + BigInt((m[3] ?? '').padEnd(6, '0')) - 1n;
  const d = new Date(Number(micros / 1000n)).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 19)}.${String(micros % 1_000_000n).padStart(6, '0')}`;
}
