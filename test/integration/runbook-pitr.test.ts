import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopServer } from '../../lib/tasks/recover/server.ts';
import { pgopsCommands } from '../../tools/docs/runbooks.ts';
import { fileArchive, startArchivingCluster, type ArchiveRepo } from '../support/archiving.ts';
import { BIN, jsonData, runCli } from '../support/cli.ts';
import { freePort, SUPERUSER, type Cluster } from '../support/cluster.ts';
import { serverWritableDir } from '../support/wal.ts';

// runbooks/point-in-time-recovery.md tested like code: a cluster archiving with pgops wal push, a base backup, rows,
// a mistaken DELETE committed, more rows after it; then the page's own command lines, read from the page and run in
// bash: find the mistaken transaction with pg_waldump on the fetched segment, recover to just before it into a new
// data directory (paused), copy the deleted rows back, and the live table holds every row, the later ones too.
// Each target of the page's table (LSN, xid, time) is recovered once, and so is the one it warns against.
//
// What the page writes for a Debian host is mapped onto the test's clusters, and nothing else: the live server's
// port and URL, the recovered copy's port and data directory, the repository, the scratch folder, and `sudo -u
// postgres psql` (the test clusters' superuser is root, their sockets are in their own folders: PGUSER and PGHOST).

const PAGE = new URL('../../runbooks/point-in-time-recovery.md', import.meta.url).pathname;
const page = fs.readFileSync(PAGE, 'utf8');

// The lines of the page's sh blocks, continuation lines joined, comments kept out.
function shLines(text: string): string[] {
  return [...text.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1].replace(/\\\n\s*/g, '').split('\n'))
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

// The one line of the page's sh blocks that starts with prefix (and contains the given text).
function pageLine(prefix: string, contains = ''): string {
  const found = shLines(page).filter((l) => l.startsWith(prefix) && l.includes(contains));
  if (found.length !== 1) throw new Error(`runbooks/point-in-time-recovery.md: expected one sh line starting with "${prefix}"${contains ? ` containing "${contains}"` : ''}, found ${found.length}`);
  return found[0];
}

// The page's section under a heading, up to the next heading of that level or higher.
function sectionOf(heading: string): string {
  const start = page.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`runbooks/point-in-time-recovery.md has no "${heading}"`);
  const level = /^#+/.exec(heading)![0].length;
  const rest = page.slice(start + heading.length + 2);
  // a "# comment" inside a code block is no heading: search a copy with the blocks blanked out
  const blanked = rest.replace(/```[\s\S]*?```/g, (block) => ' '.repeat(block.length));
  const end = blanked.search(new RegExp(`^#{1,${level}} `, 'm'));
  return end < 0 ? rest : rest.slice(0, end);
}

// The first sql block of a section.
function sqlBlock(section: string): string {
  const m = /```sql\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('no sql block in the section');
  return m[1];
}

type Row = { id: number; customer: string; status: string };

describe('runbooks/point-in-time-recovery.md, followed as written', () => {
  let archive: ArchiveRepo;
  let cluster: Cluster;
  let systemId: string;
  let repoRoot: string;
  let scratch: string;
  let pgBin: string;
  let backupId: string;
  const recovered: string[] = [];
  // everything that was ever committed on purpose, and what the mistake removed
  let expected: Row[];
  let deleted: Row[];

  // Substitutes the page's Debian paths, ports and placeholders with the test's; vars fill the other placeholders.
  function localize(line: string, vars: Record<string, string> = {}, recoveredCopy?: { pgdata: string; port: number }): string {
    let l = line
      .replaceAll('/usr/lib/postgresql/15/bin/', `${pgBin}/`)
      .replaceAll('s3://<bucket>/pgops', archive.url)
      .replaceAll('/var/backups/pgops', repoRoot)
      .replaceAll('/tmp/pitr-wal', path.join(scratch, 'pitr-wal'))
      .replaceAll('<system id>', systemId)
      .replaceAll('postgresql://<superuser>@<host>:5432/', `postgresql://${SUPERUSER}@127.0.0.1:${cluster.port}/`)
      .replaceAll('postgresql://<user>@<host>:5432/', `postgresql://${SUPERUSER}@127.0.0.1:${cluster.port}/`);
    if (recoveredCopy) l = l.replaceAll('/var/lib/postgresql/15/pitr', recoveredCopy.pgdata).replaceAll('--port 5433', `--port ${recoveredCopy.port}`).replaceAll('-p 5433', `-p ${recoveredCopy.port}`);
    for (const [k, v] of Object.entries(vars)) l = l.replaceAll(`<${k}>`, v);
    const left = /<[a-z][a-z/ -]*>/i.exec(l.replace(/<<'?EOF'?/g, ''));
    if (left) throw new Error(`placeholder ${left[0]} left in: ${l}`);
    return l;
  }

  // Runs one line in bash as the page means it: pgops is the bin, sudo -u postgres runs as the test's superuser.
  function sh(line: string, socketDir = cluster.dir): string {
    const prelude = `set -o pipefail; pgops() { ${process.execPath} ${BIN} "$@"; }; sudo() { if [ "$1" = -u ]; then shift 2; fi; "$@"; }`;
    try {
      return execFileSync('bash', ['-c', `${prelude}\n${line}`], {
        encoding: 'utf8',
        env: { PATH: `${pgBin}:${process.env.PATH}`, HOME: process.env.HOME, PGUSER: SUPERUSER, PGHOST: socketDir, ...archive.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      const e = err as { status: number; stdout: string; stderr: string };
      throw new Error(`\`${line}\` exited ${e.status}:\n${e.stdout}\n${e.stderr}`);
    }
  }

  // The recovered server's socket folder (postmaster.pid's fifth line: the folder the source's configuration gave it).
  const socketOf = (pgdata: string) => fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[4];

  // The page's recover line (step 4), with its target replaced by the given one, run: the copy's folder and port.
  async function recoverTo(target: string[]): Promise<{ pgdata: string; port: number; stdout: string }> {
    const copy = { pgdata: path.join(scratch, `pitr-${recovered.length + 1}`), port: await freePort() };
    recovered.push(copy.pgdata);
    const line = pageLine('pgops recover ');
    expect(line).toMatch(/ --target-lsn \S+ /);
    const stdout = sh(localize(line.replace(/--target-lsn \S+/, target.join(' ')), {}, copy));
    return { ...copy, stdout };
  }

  async function rowsOf(copy: { pgdata: string; port: number }): Promise<Row[]> {
    const out = sh(`psql -X -At -F '|' -p ${copy.port} -d app -c "SELECT id, customer, status FROM public.orders ORDER BY id"`, socketOf(copy.pgdata));
    return out.trim().split('\n').filter(Boolean).map((l) => {
      const [id, customer, status] = l.split('|');
      return { id: Number(id), customer, status };
    });
  }

  beforeAll(async () => {
    pgBin = path.dirname(execFileSync('bash', ['-c', 'command -v pg_waldump || echo /usr/lib/postgresql/15/bin/pg_waldump'], { encoding: 'utf8' }).trim());
    archive = await fileArchive();
    repoRoot = decodeURIComponent(archive.url.slice('file://'.length));
    scratch = serverWritableDir('pgops-runbook-pitr-');
    ({ cluster, systemId } = await startArchivingCluster(archive));
    await cluster.query('CREATE DATABASE app');
    await cluster.query(`CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, status text NOT NULL)`, [], 'app');
    // rows in the base backup, rows only the WAL after it holds (both with cancelled orders), the mistake, later rows
    await cluster.query(`INSERT INTO orders SELECT g, 'c' || (g % 7), CASE WHEN g % 3 = 0 THEN 'cancelled' ELSE 'open' END FROM generate_series(1, 60) g`, [], 'app');
    const b = await runCli(['basebackup', '--db', cluster.url(), '--repo', archive.url, '--json'], archive.env);
    expect(b.exitCode, b.stderr).toBe(0);
    backupId = jsonData(b.stdout).backupId;
    await cluster.query(`INSERT INTO orders SELECT g, 'c' || (g % 7), CASE WHEN g % 3 = 0 THEN 'cancelled' ELSE 'open' END FROM generate_series(61, 90) g`, [], 'app');
    const before = await cluster.query<Row>('SELECT id, customer, status FROM orders ORDER BY id', [], 'app');
    await cluster.query(`DELETE FROM orders WHERE status = 'cancelled'`, [], 'app');
    await cluster.query(`INSERT INTO orders SELECT g, 'late', CASE WHEN g % 2 = 0 THEN 'cancelled' ELSE 'open' END FROM generate_series(91, 100) g`, [], 'app');
    const late = await cluster.query<Row>('SELECT id, customer, status FROM orders WHERE id > 90 ORDER BY id', [], 'app');
    expected = [...before, ...late];
    deleted = before.filter((r) => r.status === 'cancelled');
    expect(deleted.length).toBe(30);
  }, 120_000);

  afterAll(async () => {
    for (const pgdata of recovered) await stopServer(pgdata, 'postgres').catch(() => {});
    await cluster?.stop();
    await archive?.cleanup();
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  // filled by the steps, in order
  const found: { segment?: string; file?: string; xid?: string; commitPrev?: string; previousXid?: string; commitTime?: string } = {};
  let copy: { pgdata: string; port: number };

  it('step 1: lists the base backup to recover from', () => {
    const out = sh(localize(pageLine('pgops backups list ')));
    expect(out).toMatch(new RegExp(`${systemId}\\s+${backupId}\\s+complete`));
  });

  it('step 2: archives the segment that holds the mistake (wal check --switch is OK)', () => {
    const out = sh(localize(pageLine('pgops wal check ', '--switch')));
    expect(out).toMatch(/^PGOPS WAL OK/);
  });

  it('step 3: finds the mistaken transaction with pg_waldump on the fetched segment', () => {
    // the page's listing of the WAL folder by archive time; the segments after the base backup, newest first
    const listing = sh(localize(pageLine('ls -l --time-style=full-iso ')));
    const segments = [...listing.matchAll(/ ([0-9A-F]{24})$/gm)].map((m) => m[1]).reverse();
    expect(segments.length).toBeGreaterThan(0);
    found.file = sh(localize(pageLine('psql -X -At ', 'pg_relation_filenode'))).trim();
    expect(found.file).toMatch(/^\d+\/\d+$/);
    for (const segment of segments) {
      sh(`${localize(pageLine('seg=<segment>').replace(/#.*$/, ''), { segment })}\n${localize(pageLine('mkdir -p /tmp/pitr-wal'))}\n${localize(pageLine('pgops wal fetch '))}`);
      const heap = sh(`seg=${segment}; ${localize(pageLine('/usr/lib/postgresql/15/bin/pg_waldump --rmgr=Heap'), { 'db-oid/filenode': found.file })} || true`);
      const tx = / tx: +(\d+),/.exec(heap)?.[1];
      if (!tx) continue;
      found.segment = segment;
      found.xid = tx;
      break;
    }
    expect(found.xid, 'a DELETE on public.orders in an archived segment').toBeDefined();
    const commits = sh(`seg=${found.segment}; ${localize(pageLine('/usr/lib/postgresql/15/bin/pg_waldump --rmgr=Transaction', '<xid>'), { xid: found.xid! })}`).trim().split('\n');
    // the COMMIT just before, then the mistaken transaction's own COMMIT
    expect(commits).toHaveLength(2);
    const mine = /tx: +(\d+), lsn: ([0-9A-F]+\/[0-9A-F]+), prev ([0-9A-F]+\/[0-9A-F]+), desc: COMMIT (\S+ \S+) UTC/.exec(commits[1]);
    expect(mine?.[1]).toBe(found.xid);
    found.commitPrev = mine![3];
    found.commitTime = mine![4];
    found.previousXid = /tx: +(\d+),/.exec(commits[0])![1];
    expect(commits[0]).toMatch(/desc: (COMMIT|ABORT) /);
  });

  it('step 4: recovers to the `prev` of the mistaken COMMIT into a new data directory, paused, not archiving', async () => {
    copy = await recoverTo(['--target-lsn', found.commitPrev!]);
    expect(fs.readFileSync(path.join(copy.pgdata, 'postgresql.auto.conf'), 'utf8')).toMatch(/^archive_mode = 'off'$/m);
    const lsn = /^recovery_target_lsn = '([0-9A-F]+\/[0-9A-F]+)'$/im.exec(fs.readFileSync(path.join(copy.pgdata, 'postgresql.auto.conf'), 'utf8'))?.[1];
    expect(lsn && lsnValue(lsn)).toBe(lsnValue(found.commitPrev!));
  }, 120_000);

  it('step 5: the paused copy is read-only and holds the deleted rows, and none of the later ones', async () => {
    const state = sh(localize(pageLine('sudo -u postgres psql ', 'pg_get_wal_replay_pause_state'), {}, copy), socketOf(copy.pgdata));
    expect(state).toMatch(/\bt\s+\|\s+paused\b/);
    expect(await rowsOf(copy)).toEqual(expected.filter((r) => r.id <= 90));
  });

  it('step 6: copies the rows back into the live database, which then holds every row, the later ones too', async () => {
    sh(localize(pageLine('psql -X -d ', 'CREATE SCHEMA pgops_recovered')));
    sh(localize(pageLine('sudo -u postgres psql ', 'COPY public.orders TO STDOUT'), {}, copy), socketOf(copy.pgdata));
    const sql = sqlBlock(sectionOf('### 6. Copy the rows back into the live database'));
    expect(sql).toMatch(/^BEGIN;[\s\S]*INSERT INTO public\.orders[\s\S]*COMMIT;\s*$/);
    const out = cluster.psql(`\\pset tuples_only on\n${sql}`, 'app');
    // the block's count: exactly what the mistake deleted
    expect(out.trim().split('\n')[0].trim()).toBe(String(deleted.length));
    expect(await cluster.query<Row>('SELECT id, customer, status FROM orders ORDER BY id', [], 'app')).toEqual(expected);
  });

  it('how to verify: no row of the copy is missing from the live table', () => {
    const sql = sqlBlock(sectionOf('## How to verify'));
    expect(cluster.psql(`\\pset tuples_only on\n${sql}`, 'app').trim()).toBe('0');
  });

  it('step 8: cleans up: drops the staging schema, stops and removes the copy', async () => {
    sh(localize(pageLine('psql -X -d ', 'DROP SCHEMA pgops_recovered')));
    sh(localize(pageLine('runuser -u postgres -- ', 'stop -m fast'), {}, copy));
    sh(localize(pageLine('rm -rf /var/lib/postgresql/15/pitr'), {}, copy));
    expect(fs.existsSync(copy.pgdata)).toBe(false);
    expect(await cluster.query(`SELECT 1 FROM pg_namespace WHERE nspname = 'pgops_recovered'`, [], 'app')).toEqual([]);
  });

  it("the table's other targets land on the same moment: --target-xid of the COMMIT before, --target-time 1 µs before", async () => {
    const time = microsecondBefore(found.commitTime!);
    for (const target of [['--target-xid', found.previousXid!], ['--target-time', `'${time}+00'`]]) {
      const c = await recoverTo(target);
      expect(await rowsOf(c), target.join(' ')).toEqual(expected.filter((r) => r.id <= 90));
      await stopServer(c.pgdata, 'postgres', pgBin);
    }
  }, 180_000);

  it("the target the page warns against, the mistaken transaction's own xid, replays the mistake (inclusive)", async () => {
    const c = await recoverTo(['--target-xid', found.xid!]);
    const rows = await rowsOf(c);
    expect(rows.filter((r) => r.status === 'cancelled')).toEqual([]);
    expect(rows.length).toBe(expected.filter((r) => r.id <= 90).length - deleted.length);
    await stopServer(c.pgdata, 'postgres', pgBin);
  }, 120_000);

  it('has no pgops line in the page that this test skips without reason', () => {
    const ran = ['pgops backups list', 'pgops wal check', 'pgops wal fetch', 'pgops recover'];
    // step 7 (switch-over) promotes; its only pgops command is in prose, not in a sh block
    expect(pgopsCommands(page).filter((c) => !ran.some((r) => c.startsWith(r)))).toEqual([]);
  });
});

// An LSN as a number: 0/040012F8 and 0/40012F8 are one location.
function lsnValue(lsn: string): bigint {
  const [hi, lo] = lsn.split('/');
  return (BigInt(`0x${hi}`) << 32n) + BigInt(`0x${lo}`);
}

// '2026-12-01 13:21:43.258511' less one microsecond, as PostgreSQL prints timestamps (trailing zeros dropped).
function microsecondBefore(text: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text);
  if (!m) throw new Error(`not a pg_waldump time: ${text}`);
  const micros = BigInt(Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`)) * 1000n + BigInt((m[5] ?? '').padEnd(6, '0')) - 1n;
  const d = new Date(Number(micros / 1000n));
  const frac = String(micros % 1_000_000n).padStart(6, '0');
  return `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 19)}.${frac}`;
}
