import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setPrefix, MANIFEST_FILE } from '../../lib/repo/layout.ts';
import { dispatch } from '../../lib/cli/dispatch.ts';
import { PgopsError } from '../../lib/errors.ts';
import { silentLogger } from '../../lib/log.ts';
import { resolveOptions } from '../../lib/options.ts';
import { FileRepo } from '../../lib/repo/file.ts';
import { PITR_DRILL_REPORT_FORMAT, putPitrDrillReport, type PitrDrillReport } from '../../lib/repo/pitr-drill-reports.ts';
import type { Repo } from '../../lib/repo/repo.ts';
import { pruneWith } from '../../lib/tasks/prune/index.ts';
import type { TaskContext } from '../../lib/task.ts';
import { writeSet } from '../support/backup-sets.ts';
import { filesBelow } from '../support/files.ts';
import { jsonData } from '../support/cli.ts';
import { segmentNames, writeBaseBackup, writeWalFile } from '../support/synthetic-basebackups.ts';
import { tempFileRepo } from '../support/repo.ts';

const NOW = new Date('2026-11-22T12:00:00Z');
// app: ten daily sets 11-13 .. 11-22, an old and a young incomplete set; other: four sets from early October.
const APP = ['20261113T031700Z', '20261114T031700Z', '20261115T031700Z', '20261116T031700Z', '20261117T031700Z', '20261118T031700Z', '20261119T031700Z', '20261120T031700Z', '20261121T031700Z', '20261122T031700Z'];
const OTHER = ['20260930T031700Z', '20261001T031700Z', '20261002T031700Z', '20261003T031700Z'];

let root: string;
let repo: FileRepo;
let url: string;

beforeEach(async () => {
  ({ root, repo, url } = await tempFileRepo('pgops-prune-'));
  for (const id of APP) await writeSet(repo, 'app', id);
  await writeSet(repo, 'app', '20261110T031700Z', { complete: false });
  await writeSet(repo, 'app', '20261122T110000Z', { complete: false });
  for (const id of OTHER) await writeSet(repo, 'other', id);
});

afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

// Every file below the repository root, relative and sorted.
const files = () => filesBelow(root);

// The set folders left in the repository: db/id.
function setFolders(): string[] {
  return fs.readdirSync(path.join(root, 'backups')).flatMap((db) => fs.readdirSync(path.join(root, 'backups', db)).map((id) => `${db}/${id}`)).sort();
}

function sink() {
  let text = '';
  const stream = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

async function run(...args: string[]) {
  const stdout = sink();
  const stderr = sink();
  const code = await dispatch(['prune', '--repo', url, '--log-format', 'human', ...args], { stdout: stdout.stream, stderr: stderr.stream, env: {}, now: () => NOW });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

// What keep-daily 3 keeps: app 11-20 .. 11-22 and the young incomplete set; other 10-01 .. 10-03.
const KEPT = ['app/20261120T031700Z', 'app/20261121T031700Z', 'app/20261122T031700Z', 'app/20261122T110000Z', 'other/20261001T031700Z', 'other/20261002T031700Z', 'other/20261003T031700Z'];
const DELETED = [...APP.slice(0, 7).map((id) => `app/${id}`), 'app/20261110T031700Z', 'other/20260930T031700Z'];

describe('pgops prune', () => {
  it('prints the plan and deletes nothing without --execute', async () => {
    const before = files();
    const r = await run('--keep-daily', '3');
    expect(r.code).toBe(0);
    expect(files()).toEqual(before);
    expect(r.stdout).toMatch(/^app\s+20261113T031700Z\s+delete\s+.*no rule keeps it$/m);
    expect(r.stdout).toMatch(/^app\s+20261110T031700Z\s+delete\s+.*incomplete, older than grace 24h$/m);
    expect(r.stdout).toMatch(/^app\s+20261122T110000Z\s+keep\s+.*incomplete, younger than grace 24h$/m);
    expect(r.stdout).toMatch(/^app\s+20261122T031700Z\s+keep\s+.*daily 2026-11-22, newest complete$/m);
    expect(r.stdout).toMatch(/^other\s+20260930T031700Z\s+delete/m);
    expect(r.stdout).toContain(`\n9 to delete (`);
    expect(r.stdout).toContain(', 7 kept\n');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('dry run: nothing deleted; add --execute to delete');
    expect(r.stderr).not.toContain('deleting backup set');
  });

  it('deletes exactly the planned sets with --execute, never the newest', async () => {
    const r = await run('--keep-daily', '3', '--execute');
    expect(r.code).toBe(0);
    expect(setFolders()).toEqual(KEPT);
    for (const set of KEPT.filter((s) => s !== 'app/20261122T110000Z')) {
      expect(fs.readdirSync(path.join(root, 'backups', set)).sort()).toEqual(['dump', 'globals.sql', 'manifest.json']);
    }
    for (const set of DELETED) expect(r.stderr).toContain(`deleting backup set ${set} (`);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(new RegExp(`^pruned file://${root}: deleted 9 set\\(s\\) \\([\\d.]+ kB\\), 7 kept$`));
  });

  it('prunes only the database --db names, given as a URL', async () => {
    const r = await run('--keep-last', '1', '--execute', '--db', 'postgresql://backup:s3cret@db1:5432/other?sslmode=require');
    expect(r.code).toBe(0);
    expect(setFolders()).toEqual([...APP.map((id) => `app/${id}`), 'app/20261110T031700Z', 'app/20261122T110000Z', 'other/20261003T031700Z'].sort());
  });

  it('prints the decisions as JSON with --json', async () => {
    const r = await run('--keep-daily', '3', '--execute', '--json');
    expect(r.code).toBe(0);
    const data = jsonData(r.stdout);
    expect(data.repo).toBe(url);
    expect(data.execute).toBe(true);
    expect(data.databases.map((d: { database: string }) => d.database)).toEqual(['app', 'other']);
    const app = data.databases[0].decisions;
    expect(app).toHaveLength(12);
    expect(app[0]).toEqual({ id: '20261122T110000Z', action: 'keep', reasons: ['incomplete, younger than grace 24h'], size: expect.any(Number), complete: false, status: 'incomplete' });
    expect(app[1]).toEqual({ id: '20261122T031700Z', action: 'keep', reasons: ['daily 2026-11-22', 'newest complete'], size: expect.any(Number), complete: true, status: 'complete' });
    expect([...data.deleted].sort()).toEqual(DELETED.map((s) => s.split('/')[1]).sort());
    const plannedBytes = data.databases.flatMap((d: { decisions: { action: string; size: number }[] }) => d.decisions).filter((d: { action: string }) => d.action === 'delete').reduce((s: number, d: { size: number }) => s + d.size, 0);
    expect(data.freedBytes).toBe(plannedBytes);
    expect(data.freedBytes).toBeGreaterThan(0);
  });

  it('refuses to run without a retention rule, with a hint', async () => {
    const before = files();
    const r = await run('--execute');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no retention rule given');
    expect(r.stderr).toMatch(/^HINT: pass at least one of --keep-last, --keep-daily/m);
    expect(files()).toEqual(before);
  });
});

// A repository that forwards to another and records each delete call; it can be told to fail one.
class RecordingRepo implements Repo {
  readonly deletes: string[][] = [];
  constructor(
    private readonly inner: Repo,
    private readonly failOn?: string,
  ) {}
  get url() {
    return this.inner.url;
  }
  get kind() {
    return this.inner.kind;
  }
  get exclusiveCreate() {
    return this.inner.exclusiveCreate;
  }
  check = () => this.inner.check();
  put: Repo['put'] = (k, b, o) => this.inner.put(k, b, o);
  putBytes: Repo['putBytes'] = (k, d, o) => this.inner.putBytes(k, d, o);
  publishMarked: Repo['publishMarked'] = (p) => this.inner.publishMarked(p);
  get: Repo['get'] = (k) => this.inner.get(k);
  getBytes: Repo['getBytes'] = (k) => this.inner.getBytes(k);
  localPath: Repo['localPath'] = (k) => this.inner.localPath(k);
  exists: Repo['exists'] = (k) => this.inner.exists(k);
  list: Repo['list'] = (p) => this.inner.list(p);
  hasAny: Repo['hasAny'] = (p) => this.inner.hasAny(p);
  close = () => this.inner.close();
  async delete(keys: string[]) {
    this.deletes.push(keys);
    if (this.failOn && keys.includes(this.failOn)) throw new Error('permission denied');
    return this.inner.delete(keys);
  }
}

function ctx(options: Partial<TaskContext<'prune'>['options']>): TaskContext<'prune'> {
  return { options: { ...resolveOptions('prune', {}, {}).values, keepDaily: 3, incompleteGrace: 24 * 3_600_000, ...options } as TaskContext<'prune'>['options'], args: {}, log: silentLogger('prune'), signal: new AbortController().signal, env: {}, now: () => NOW };
}

describe('pruneWith', () => {
  it('deletes each set’s manifest first, in a call of its own, then its other files', async () => {
    const recorder = new RecordingRepo(repo);
    const result = await pruneWith(recorder, ctx({ execute: true }));
    expect(result.exitCode).toBe(0);
    expect(recorder.deletes).toHaveLength(2 * DELETED.length);
    const setsInOrder: string[] = [];
    for (let i = 0; i < recorder.deletes.length; i += 2) {
      const [manifestCall, rest] = [recorder.deletes[i], recorder.deletes[i + 1]];
      expect(manifestCall).toHaveLength(1);
      expect(manifestCall[0]).toMatch(/^backups\/[a-z]+\/\d{8}T\d{6}Z\/manifest\.json$/);
      const prefix = manifestCall[0].slice(0, -MANIFEST_FILE.length);
      expect([...rest].sort()).toEqual([`${prefix}dump`, `${prefix}globals.sql`]);
      setsInOrder.push(prefix.slice('backups/'.length, -1));
    }
    expect([...setsInOrder].sort()).toEqual([...DELETED].sort());
    // oldest first
    expect(setsInOrder[0]).toBe('other/20260930T031700Z');
    expect(setFolders()).toEqual(KEPT);
  });

  it('stops at the first failed delete, says what was deleted, and leaves the half-deleted set without a manifest', async () => {
    // Oldest first: other/20260930, app/20261110 (incomplete), app/20261113, ... fail on the third set's files.
    const failing = `${setPrefix('app', '20261113T031700Z')}dump`;
    const recorder = new RecordingRepo(repo, failing);
    const err = await pruneWith(recorder, ctx({ execute: true })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgopsError);
    expect((err as PgopsError).code).toBe(2);
    expect((err as PgopsError).message).toBe('deleting backup set app/20261113T031700Z failed: permission denied (2 set(s) deleted before it, 6 more not deleted)');
    expect((err as PgopsError).hint).toContain('lost its manifest');
    expect(fs.readdirSync(path.join(root, 'backups/app/20261113T031700Z')).sort()).toEqual(['dump', 'globals.sql']);
    expect(fs.existsSync(path.join(root, 'backups/other/20260930T031700Z'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'backups/app/20261110T031700Z'))).toBe(false);
    for (const id of APP.slice(3)) expect(fs.existsSync(path.join(root, 'backups/app', id, MANIFEST_FILE))).toBe(true);

    // A later run sees the half-deleted set as incomplete and old, and removes it.
    const again = await pruneWith(new RecordingRepo(repo), ctx({ execute: true }));
    expect(again.exitCode).toBe(0);
    expect(setFolders()).toEqual(KEPT);
  });

  it('keeps a set whose manifest cannot be read and exits with a warning', async () => {
    await repo.putBytes(`${setPrefix('app', '20261113T031700Z')}${MANIFEST_FILE}`, '{ not json');
    const result = await pruneWith(repo, ctx({ execute: true }));
    expect(result.exitCode).toBe(1);
    expect(setFolders()).toEqual([...KEPT, 'app/20261113T031700Z'].sort());
  });
});

// Base backups and WAL: synthetic, as the sets above. System S: three base backups starting at segments 3, 6 and 9
// (timeline 1), WAL 1..11 with a backup label, a .partial, timeline 2's history and a temp file of a push in progress.
describe('pgops prune: base backups and WAL', () => {
  const S = '7300000000000000000';
  const LOGICAL_ONLY = '7400000000000000000';
  const B = ['20261120T031700Z', '20261121T031700Z', '20261122T031700Z'];
  const walDir = () => path.join(root, 'wal', S);
  const walNames = () => [...new Set(fs.readdirSync(walDir()).filter((f) => !f.startsWith('.')).map((f) => f.replace(/\.(gz|json)$/, '')))].sort();

  beforeEach(async () => {
    await writeBaseBackup(repo, S, B[0], { start: '000000010000000000000003' });
    await writeBaseBackup(repo, S, B[1], { start: '000000010000000000000006' });
    await writeBaseBackup(repo, S, B[2], { start: '000000010000000000000009' });
    for (const name of segmentNames(1, 1, 11)) await writeWalFile(repo, S, name);
    for (const name of ['000000010000000000000006.00000028.backup', '000000010000000000000004.partial', '00000002.history']) await writeWalFile(repo, S, name);
    fs.writeFileSync(path.join(walDir(), '.pgops-tmp-000000010000000000000002-1-x'), 'push in progress');
    // WAL of a system that has no base backups at all: never touched
    for (const name of segmentNames(1, 1, 3)) await writeWalFile(repo, LOGICAL_ONLY, name);
  });

  it('plans base backups per system and WAL below the oldest kept start, and deletes nothing without --execute', async () => {
    const before = files();
    const r = await run('--keep-last', '2');
    expect(r.code).toBe(0);
    expect(files()).toEqual(before);
    expect(r.stdout).toMatch(new RegExp(`^system\\s+base backup\\s+action\\s+size\\s+reasons$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${S}\\s+${B[0]}\\s+delete\\s+.*no rule keeps it$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${S}\\s+${B[1]}\\s+keep\\s+.*last 2/2$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${S}\\s+${B[2]}\\s+keep\\s+.*last 1/2, newest complete$`, 'm'));
    expect(r.stdout).toContain(
      `wal of system ${S}: delete 000000010000000000000001..000000010000000000000005: 6 files, ` /* 1..5 and 4.partial */,
    );
    expect(r.stdout).toContain(`kept from 000000010000000000000006 on, the start of base backup ${B[1]}, the oldest kept (`);
    expect(r.stdout).toContain(`wal of system ${LOGICAL_ONLY}: no base backup: WAL kept (3 file(s), `);
    expect(r.stdout).toMatch(/^1 base backup\(s\) to delete \([\d.]+ kB\), 2 kept; 6 WAL file\(s\) to delete \([\d.]+ kB\)$/m);
  });

  it('with --execute deletes the base backup, then the WAL below the kept range (sidecars too), and keeps history, later files and temp files', async () => {
    const r = await run('--keep-last', '2', '--execute');
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(path.join(root, 'basebackups', S)).sort()).toEqual([B[1], B[2]]);
    expect(walNames()).toEqual(['000000010000000000000006.00000028.backup', ...segmentNames(1, 6, 11), '00000002.history'].sort());
    // every kept file still has its data object and its sidecar
    for (const name of walNames()) {
      expect(fs.existsSync(path.join(walDir(), `${name}.gz`))).toBe(true);
      expect(fs.existsSync(path.join(walDir(), `${name}.json`))).toBe(true);
    }
    expect(fs.existsSync(path.join(walDir(), '.pgops-tmp-000000010000000000000002-1-x'))).toBe(true);
    expect(fs.readdirSync(path.join(root, 'wal', LOGICAL_ONLY)).length).toBe(6);
    expect(r.stderr).toContain(`deleting base backup ${S}/${B[0]} (`);
    expect(r.stderr).toContain(`deleting 6 WAL file(s) of system ${S} below 000000010000000000000006 (`);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toMatch(/^pruned file:\/\/.*: deleted 11 set\(s\) \(.*\), 5 kept; 1 base backup\(s\) \(.*\), 2 kept; 6 WAL file\(s\) \(.*\)$/);
  });

  it('keeps a pinned base backup past --keep-last 1, and the WAL it needs', async () => {
    fs.rmSync(path.join(root, 'basebackups', S, B[0]), { recursive: true });
    await writeBaseBackup(repo, S, B[0], { start: '000000010000000000000003', label: 'pre-migration-42', pinnedUntil: '2026-12-22T03:17:00.000Z' });
    const r = await run('--keep-last', '1', '--execute', '--json');
    expect(r.code, r.stderr).toBe(0);
    const data = jsonData(r.stdout);
    expect(data.basebackups).toEqual([
      {
        systemIdentifier: S,
        decisions: [
          { id: B[2], action: 'keep', reasons: ['last 1/1', 'newest complete'], size: expect.any(Number), complete: true, status: 'complete' },
          { id: B[1], action: 'delete', reasons: ['no rule keeps it'], size: expect.any(Number), complete: true, status: 'complete' },
          { id: B[0], action: 'keep', reasons: ['pinned until 2026-12-22T03:17:00Z (pre-migration-42)'], size: expect.any(Number), complete: true, status: 'complete' },
        ],
      },
    ]);
    expect(data.basebackupsDeleted).toEqual([B[1]]);
    expect(fs.readdirSync(path.join(root, 'basebackups', S)).sort()).toEqual([B[0], B[2]]);
    expect(data.wal.find((w: { systemIdentifier: string }) => w.systemIdentifier === S)).toMatchObject({
      action: 'delete',
      cutoff: { segment: '000000010000000000000003', backupId: B[0] },
      delete: { files: 2, first: '000000010000000000000001', last: '000000010000000000000002' },
      deleted: { files: 2 },
    });
    expect(walNames()[0]).toBe('000000010000000000000003');
    // once the pin has expired, the next run lets the backup and its WAL go
    const later = await dispatch(['prune', '--repo', url, '--keep-last', '1', '--execute'], { stdout: sink().stream, stderr: sink().stream, env: {}, now: () => new Date('2026-12-23T00:00:00Z') });
    expect(later).toBe(0);
    expect(fs.readdirSync(path.join(root, 'basebackups', S))).toEqual([B[2]]);
    expect(walNames()[0]).toBe('000000010000000000000009');
  });

  it('keeps the newest base backup a point-in-time drill passed on, whatever the rules, and the WAL it needs', async () => {
    const drill = (drillId: string, backupId: string, result: 'pass' | 'fail') =>
      putPitrDrillReport(repo, { format: PITR_DRILL_REPORT_FORMAT, reportVersion: 1, drillId, systemIdentifier: S, backupId, result, startedAt: '2026-11-22T04:00:00.000Z', finishedAt: '2026-11-22T04:01:00.000Z', target: 'latest', archiveEnd: null, replay: null, durations: { downloadMs: null, layDownMs: null, verifyMs: null, replayMs: null, checksMs: null }, rtoMs: null, rpoMs: null, limits: { maxRtoMs: null, maxRpoMs: null }, integrity: null, scratch: { dir: '/tmp/x', port: null, kept: false }, checks: [], tool: { name: 'pgops', version: 'test' } } as PitrDrillReport);
    await drill('20261121T040000Z', B[0], 'pass');
    // B[1] passed once, then failed: the newer drill withdraws the pass
    await drill('20261122T040000Z', B[1], 'pass');
    await drill('20261123T040000Z', B[1], 'fail');
    const r = await run('--keep-last', '1', '--execute', '--json');
    expect(r.code, r.stderr).toBe(0);
    const data = jsonData(r.stdout);
    expect(data.basebackups[0].decisions.map((d: { id: string; action: string; reasons: string[] }) => [d.id, d.action, d.reasons])).toEqual([
      [B[2], 'keep', ['last 1/1', 'newest complete']],
      [B[1], 'delete', ['no rule keeps it']],
      [B[0], 'keep', ['newest PITR-drill-verified']],
    ]);
    expect(fs.readdirSync(path.join(root, 'basebackups', S)).sort()).toEqual([B[0], B[2]]);
    expect(walNames()[0]).toBe('000000010000000000000003');
  });

  it('plans every system even when --db names a database, and says so', async () => {
    const r = await run('--keep-last', '2', '--db', 'other');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('base backups and WAL: every system in the repository is planned (--db narrows only the logical sets)');
    expect(r.stdout).toMatch(new RegExp(`^${S}\\s+${B[0]}\\s+delete`, 'm'));
    expect(r.stdout).not.toMatch(/^app\s/m);
  });

  it('keeps all WAL of a system whose base backup has an unreadable manifest, and warns', async () => {
    fs.writeFileSync(path.join(root, 'basebackups', S, B[1], 'manifest.json'), '{ not json');
    const r = await run('--keep-last', '1', '--execute');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`base backup ${S}/${B[1]} has a manifest that cannot be read: kept`);
    expect(r.stdout).toContain(`wal of system ${S}: base backup ${B[1]} has a manifest this pgops cannot read: WAL kept until a person looks at it (`);
    expect(walNames()).toHaveLength(14);
    expect(fs.readdirSync(path.join(root, 'basebackups', S)).sort()).toEqual([B[1], B[2]]);
  });

  it('keeps all WAL when no complete base backup is left to keep, and deletes an old incomplete one after the grace', async () => {
    for (const id of B) fs.rmSync(path.join(root, 'basebackups', S, id), { recursive: true });
    await writeBaseBackup(repo, S, '20261120T031700Z', { start: '000000010000000000000003', complete: false });
    const r = await run('--keep-last', '1', '--execute');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^${S}\\s+20261120T031700Z\\s+delete\\s+.*incomplete, older than grace 24h$`, 'm'));
    expect(r.stdout).toContain(`wal of system ${S}: no base backup: WAL kept (14 file(s), `);
    expect(walNames()).toHaveLength(14);
  });

  it('deletes a base backup’s manifest first, base backups before WAL, and each WAL file’s sidecar before its data', async () => {
    const recorder = new RecordingRepo(repo);
    const result = await pruneWith(recorder, ctx({ execute: true, keepDaily: 0, keepLast: 2 }));
    expect(result.exitCode).toBe(0);
    const calls = recorder.deletes;
    const baseAt = calls.findIndex((c) => c[0].startsWith(`basebackups/${S}/${B[0]}/`));
    expect(calls[baseAt]).toEqual([`basebackups/${S}/${B[0]}/manifest.json`]);
    expect([...calls[baseAt + 1]].sort()).toEqual([`basebackups/${S}/${B[0]}/backup_manifest`, `basebackups/${S}/${B[0]}/base.tar`]);
    const walCalls = calls.filter((c) => c[0].startsWith('wal/'));
    expect(calls.indexOf(walCalls[0])).toBeGreaterThan(baseAt + 1);
    const keys = walCalls.flat();
    expect(keys.slice(0, 4)).toEqual([`wal/${S}/000000010000000000000001.json`, `wal/${S}/000000010000000000000001.gz`, `wal/${S}/000000010000000000000002.json`, `wal/${S}/000000010000000000000002.gz`]);
    for (let i = 0; i < keys.length; i += 2) {
      expect(keys[i]).toMatch(/\.json$/);
      expect(keys[i + 1]).toBe(keys[i].replace(/\.json$/, '.gz'));
    }
    expect(keys).toHaveLength(12);
  });
});
