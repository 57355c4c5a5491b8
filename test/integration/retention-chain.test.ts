import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyKey } from '../../lib/repo/layout.ts';
import { parseWalFileName } from '../../lib/wal/names.ts';
import { fileArchive, startArchivingCluster, type ArchiveRepo } from '../support/archiving.ts';
import { jsonData, runCli } from '../support/cli.ts';
import { freePort, type Cluster } from '../support/cluster.ts';
import { serverWritableDir, switchWal, waitArchived } from '../support/wal.ts';

// Retention of the whole chain on a real cluster archiving with pgops wal push into a file repository: three base
// backups with rows and WAL switches between them; prune keeps the newest two and the WAL from the older one's start
// on, and a recovery from that older one still reaches the newest row. A pinned base backup outlives --keep-last 1.

let archive: ArchiveRepo;
let cluster: Cluster;
let systemId: string;
let scratch: string;
const ids: string[] = [];
const starts: string[] = [];

const walDir = () => path.join(archive.url.slice('file://'.length), 'wal', systemId);
const baseDir = () => path.join(archive.url.slice('file://'.length), 'basebackups', systemId);
const cli = (...args: string[]) => runCli([...args, '--repo', archive.url, '--log-format', 'human'], archive.env);

// Every archived WAL file name with the roles stored for it: "data" and "sidecar".
function archived(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const f of fs.readdirSync(walDir())) {
    const k = classifyKey(f);
    if (!k || !parseWalFileName(k.name)) continue;
    out.set(k.name, (out.get(k.name) ?? new Set()).add(k.role));
  }
  return out;
}

// The position of a WAL file name (log and seg parts as one comparable string); undefined for history files.
const position = (name: string) => (parseWalFileName(name)!.kind === 'history' ? undefined : name.slice(8, 24));

async function row(what: string) {
  await cluster.query('INSERT INTO events (what) VALUES ($1)', [what], 'app');
  await waitArchived(cluster, await switchWal(cluster));
}

async function basebackup(...extra: string[]): Promise<{ backupId: string; wal: { first: string } }> {
  const r = await runCli(['basebackup', '--db', cluster.url('app'), '--repo', archive.url, '--json', '--log-format', 'human', ...extra], archive.env);
  expect(r.exitCode, r.stderr).toBe(0);
  const data = jsonData(r.stdout);
  // the id is a second: the next backup must not collide with it
  await new Promise((res) => setTimeout(res, 1100));
  return data;
}

beforeAll(async () => {
  archive = await fileArchive();
  ({ cluster, systemId } = await startArchivingCluster(archive));
  scratch = serverWritableDir('pgops-chain-');
  await cluster.query('CREATE DATABASE app');
  await cluster.query('CREATE TABLE events (id serial PRIMARY KEY, what text NOT NULL)', [], 'app');
  for (let i = 0; i < 3; i++) {
    await row(`before base backup ${i}`);
    const b = await basebackup(...(i === 1 ? ['--label', 'pre-migration-42', '--pin', '30d'] : []));
    ids.push(b.backupId);
    starts.push(b.wal.first);
    await row(`after base backup ${i}`);
  }
  await row('the newest row');
}, 240_000);

afterAll(async () => {
  await cluster?.stop();
  await archive?.cleanup();
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe('prune of the whole chain', () => {
  it('keeps the newest two base backups and the WAL from the older one’s start on, and recovery from it reaches the newest row', async () => {
    // a history file of an old timeline branch: prune never deletes one (removed again before the recovery, which
    // would otherwise be offered it)
    const history = path.join(walDir(), '00000009.history');
    fs.writeFileSync(history, '1\t0/1000000\tno recovery target specified\n');
    fs.writeFileSync(`${history}.json`, '{}\n');
    const before = archived();
    expect([...before.keys()].some((n) => position(n) !== undefined && position(n)! < position(starts[1])!)).toBe(true);

    const r = await cli('prune', '--keep-last', '2', '--execute', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const data = jsonData(r.stdout);
    expect(data.basebackupsDeleted).toEqual([ids[0]]);
    expect(fs.readdirSync(baseDir()).sort()).toEqual([ids[1], ids[2]]);
    expect(data.wal.find((w: { systemIdentifier: string }) => w.systemIdentifier === systemId).cutoff).toEqual({ segment: starts[1], backupId: ids[1] });

    const after = archived();
    const expected = [...before.keys()].filter((n) => position(n) === undefined || position(n)! >= position(starts[1])!).sort();
    expect([...after.keys()].sort()).toEqual(expected);
    // below the cutoff, neither data objects nor sidecars are left; from it on, every file is whole
    expect(fs.readdirSync(walDir()).filter((f) => f.startsWith(starts[0].slice(0, 8)) && f.slice(8, 24) < position(starts[1])!)).toEqual([]);
    for (const [name, roles] of after) if (name !== '00000009.history') expect([name, [...roles].sort()]).toEqual([name, ['data', 'sidecar']]);
    expect(after.has('00000009.history')).toBe(true);
    fs.rmSync(history);
    fs.rmSync(`${history}.json`);

    // the oldest kept base backup still reaches the newest transaction through the archive
    const pgdata = path.join(scratch, 'from-oldest-kept');
    const port = await freePort();
    const rec = await cli('recover', '--pgdata', pgdata, '--backup', ids[1], '--target', 'latest', '--archive-mode', 'off', '--start', '--port', String(port));
    try {
      expect(rec.exitCode, `${rec.stdout}\n${rec.stderr}`).toBe(0);
      const rows = await recoveredRows(port);
      expect(rows).toEqual(['before base backup 0', 'after base backup 0', 'before base backup 1', 'after base backup 1', 'before base backup 2', 'after base backup 2', 'the newest row']);
    } finally {
      await stopRecovered(pgdata);
    }
  }, 180_000);

  it('keeps a pinned base backup past --keep-last 1, and the WAL it needs, and backups list shows its label and pin', async () => {
    await row('before base backup 3');
    const newest = await basebackup();
    const before = archived();
    const r = await cli('prune', '--keep-last', '1', '--execute', '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const decisions = jsonData(r.stdout).basebackups[0].decisions;
    expect(decisions.map((d: { id: string; action: string; reasons: string[] }) => [d.id, d.action, d.reasons[0]])).toEqual([
      [newest.backupId, 'keep', 'last 1/1'],
      [ids[2], 'delete', 'no rule keeps it'],
      [ids[1], 'keep', expect.stringMatching(/^pinned until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(pre-migration-42\)$/)],
    ]);
    expect(fs.readdirSync(baseDir()).sort()).toEqual([ids[1], newest.backupId]);
    // the WAL from the pinned backup's start on is all still there
    expect([...archived().keys()].sort()).toEqual([...before.keys()].sort());
    expect(archived().has(starts[1])).toBe(true);

    const list = await cli('backups', 'list');
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${systemId}\\s+${ids[1]}\\s+complete\\s+.*\\s+pre-migration-42\\s+\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\s`, 'm'));
    const json = jsonData((await cli('backups', 'list', '--json')).stdout);
    const pinned = json.basebackups.find((b: { backupId: string }) => b.backupId === ids[1]);
    expect(pinned).toMatchObject({ label: 'pre-migration-42', pinned: true, status: 'complete', wal: { first: starts[1] } });
    // 30 days from the backup, give or take the run
    expect(Date.parse(pinned.pinnedUntil) - Date.now()).toBeGreaterThan(29 * 86_400_000);
  }, 120_000);
});

describe('labelled logical sets', () => {
  it('refuses a label that is not a plain name before anything is written (exit 3)', async () => {
    const before = fs.existsSync(path.join(archive.url.slice('file://'.length), 'backups')) ? fs.readdirSync(path.join(archive.url.slice('file://'.length), 'backups'), { recursive: true }) : [];
    const r = await runCli(['backup', '--db', cluster.url('app'), '--repo', archive.url, '--label', 'pre migration', '--log-format', 'human'], archive.env);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toContain('invalid --label "pre migration": expected 1 to 100 characters');
    const after = fs.existsSync(path.join(archive.url.slice('file://'.length), 'backups')) ? fs.readdirSync(path.join(archive.url.slice('file://'.length), 'backups'), { recursive: true }) : [];
    expect(after).toEqual(before);
  });

  it('restores --backup label:NAME, the labelled set, not the newest', async () => {
    const labelled = await runCli(['backup', '--db', cluster.url('app'), '--repo', archive.url, '--label', 'before-cleanup', '--pin', '7d', '--json'], archive.env);
    expect(labelled.exitCode, labelled.stderr).toBe(0);
    await cluster.query(`DELETE FROM events WHERE what LIKE 'before%'`, [], 'app');
    await new Promise((res) => setTimeout(res, 1100));
    const newer = await runCli(['backup', '--db', cluster.url('app'), '--repo', archive.url, '--json'], archive.env);
    expect(newer.exitCode, newer.stderr).toBe(0);

    const list = jsonData((await cli('backups', 'list', '--db', 'app', '--json')).stdout);
    expect(list.sets.map((s: { backupId: string; label: string | null; pinned: boolean }) => [s.backupId, s.label, s.pinned])).toEqual([
      [jsonData(newer.stdout).backupId, null, false],
      [jsonData(labelled.stdout).backupId, 'before-cleanup', true],
    ]);

    const r = await cli('restore', '--db', 'app', '--backup', 'label:before-cleanup', '--to', cluster.url('restored_labelled'), '--create');
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = await cluster.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE what LIKE 'before%'`, [], 'restored_labelled');
    expect(rows[0].n).toBe('4');
    expect((await cluster.query<{ n: string }>(`SELECT count(*) AS n FROM events WHERE what LIKE 'before%'`, [], 'app'))[0].n).toBe('0');
  }, 120_000);
});

// The rows of the recovered server's events table, oldest first.
async function recoveredRows(port: number): Promise<string[]> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'root', database: 'app' });
  await client.connect();
  try {
    return (await client.query<{ what: string }>('SELECT what FROM events ORDER BY id')).rows.map((r) => r.what);
  } finally {
    await client.end();
  }
}

// Stops the server pgops recover --start left running (fast, then immediate).
async function stopRecovered(pgdata: string): Promise<void> {
  const { stopServer } = await import('../../lib/tasks/recover/server.ts');
  await stopServer(pgdata, 'postgres');
}
