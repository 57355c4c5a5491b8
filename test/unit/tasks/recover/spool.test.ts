import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../lib/log.ts';
import { FileRepo } from '../../../../lib/repo/file.ts';
import { dataKey, sidecarKey } from '../../../../lib/repo/layout.ts';
import { encodeSidecar, SIDECAR_FORMAT, type Sidecar } from '../../../../lib/repo/wal-sidecar.ts';
import { restoreCommandFor } from '../../../../lib/tasks/recover/restore-command.ts';
import { ABSENT_SUFFIX, ASK_SUFFIX, aheadFor, segmentsToReplay, spoolFolder, startSpool, type Spool } from '../../../../lib/tasks/recover/spool.ts';
import { initTestRepo } from '../../../support/repo.ts';
import { timelineChain } from '../../../../lib/wal/history.ts';
import { parseLsn, segmentName } from '../../../../lib/wal/names.ts';

const SYSTEM = '7300000000000000001';
const MB16 = 16 * 1024 * 1024;
const names = (from: number, to: number, tl = 1) => Array.from({ length: to - from + 1 }, (_, i) => segmentName(tl, from + i, MB16));

// Polls until probe holds (bounded), for what the spool does in the background.
async function until(what: string, probe: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the WAL files the spool fetches', () => {
  it('follows the timeline chain from the first segment to the plan\'s last', () => {
    // timeline 2 begins inside segment 5: segment 5 is read from timeline 2, as PostgreSQL reads it
    const chain = timelineChain([{ parent: 1, switchpoint: parseLsn('0/5000100'), reason: '' }], 2);
    const plan = { first: segmentName(1, 3, MB16), last: segmentName(2, 6, MB16), backupLast: segmentName(1, 3, MB16), segmentSize: MB16 };
    expect(segmentsToReplay(plan, { kind: 'latest' }, chain)).toEqual([...names(3, 4), ...names(5, 6, 2)]);
  });

  it('stops at the segment of an LSN target and at the backup\'s end for immediate', () => {
    const chain = timelineChain([], 1);
    const plan = { first: segmentName(1, 3, MB16), last: segmentName(1, 20, MB16), backupLast: segmentName(1, 4, MB16), segmentSize: MB16 };
    expect(segmentsToReplay(plan, { kind: 'lsn', lsn: '0/7000010' }, chain)).toEqual(names(3, 7));
    expect(segmentsToReplay(plan, { kind: 'immediate' }, chain)).toEqual(names(3, 4));
    expect(segmentsToReplay(plan, { kind: 'lsn', lsn: '1/0' }, chain)).toEqual(names(3, 20));
    expect(segmentsToReplay(plan, { kind: 'time', time: new Date(), text: 'now' }, chain)).toHaveLength(18);
  });

  it('keeps 128 MB ahead: 8 segments of 16 MB, never fewer than 2', () => {
    expect(aheadFor(MB16)).toBe(8);
    expect(aheadFor(64 * 1024 * 1024)).toBe(2);
    expect(aheadFor(1024 ** 3)).toBe(2);
    expect(aheadFor(1024 * 1024)).toBe(8);
  });
});

describe('the spool', () => {
  let root: string;
  let pgdata: string;
  let repo: FileRepo;
  let spool: Spool | undefined;
  const content = new Map<string, Buffer>();

  // An archived file as wal push leaves it: the data object and its sidecar (sha256 and size of the data).
  function archive(name: string, data = randomBytes(4096), sidecarOf = data): void {
    content.set(name, data);
    fs.mkdirSync(path.join(root, 'repo', 'wal', SYSTEM), { recursive: true });
    fs.writeFileSync(path.join(root, 'repo', dataKey(SYSTEM, name, 'none')), data);
    const sidecar: Sidecar = { format: SIDECAR_FORMAT, version: 1, name, systemIdentifier: SYSTEM, size: sidecarOf.length, sha256: createHash('sha256').update(sidecarOf).digest('hex'), compression: 'none', stored: name, storedSize: data.length, pushedAt: new Date().toISOString() };
    fs.writeFileSync(path.join(root, 'repo', sidecarKey(SYSTEM, name)), encodeSidecar(sidecar));
  }
  // Four segments: the first and the last archived, the second archived with a byte that differs from its sidecar's
  // sum, the third not archived at all.
  function withDamagedAndMissing(): string[] {
    const list = names(1, 4);
    archive(list[0]);
    const good = randomBytes(4096);
    const bad = Buffer.from(good);
    bad[100] ^= 0xff;
    archive(list[1], bad, good);
    archive(list[3]);
    return list;
  }
  const inSpool = () => fs.readdirSync(spoolFolder(pgdata)).sort();
  const start = (list: string[], ahead = 3, signal = new AbortController().signal) => {
    spool = startSpool({ pgdata, repo, systemId: SYSTEM, names: list, ahead, log: silentLogger(), signal });
    return spool;
  };

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-spool-'));
    pgdata = path.join(root, 'data');
    fs.mkdirSync(pgdata);
    repo = new FileRepo(path.join(root, 'repo'));
    content.clear();
  });

  afterEach(async () => {
    await spool?.stop();
    spool = undefined;
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('keeps the next files ahead, each whole and verified, and fetches the next when the server takes one', async () => {
    const list = names(1, 6);
    for (const n of list) archive(n);
    const s = start(list, 3);
    expect((fs.statSync(spoolFolder(pgdata)).mode & 0o777).toString(8)).toBe('700');
    await until('three files spooled', () => inSpool().join() === list.slice(0, 3).join());
    for (const n of inSpool()) expect(fs.readFileSync(path.join(spoolFolder(pgdata), n)).equals(content.get(n)!)).toBe(true);
    // never more than 3 ahead
    await new Promise((r) => setTimeout(r, 150));
    expect(inSpool()).toEqual(list.slice(0, 3));
    // the server moves the first two out (restore_command's mv)
    for (const n of list.slice(0, 2)) fs.renameSync(path.join(spoolFolder(pgdata), n), path.join(root, n));
    await until('the next two spooled', () => inSpool().join() === list.slice(2, 5).join());
    const stats = await s.stop();
    expect(stats).toMatchObject({ served: 2, fetched: 5 });
    expect(fs.existsSync(spoolFolder(pgdata))).toBe(false);
  });

  it('never puts a file that does not match its sidecar under its name: it is skipped for wal fetch, and the next ones spooled', async () => {
    const list = withDamagedAndMissing();
    const s = start(list, 8);
    await until('the good files spooled', () => inSpool().join() === [list[0], list[3]].join());
    const stats = await s.stop();
    expect(stats).toMatchObject({ fetched: 2, skipped: 2, served: 0 });
  });

  it('skips what replay has passed (the server fetched it itself) and removes it', async () => {
    const list = names(1, 8);
    for (const n of list) archive(n);
    const s = start(list, 2);
    await until('two spooled', () => inSpool().join() === list.slice(0, 2).join());
    // replay restored file 5 through wal fetch: 1 and 2 are not needed any more, 3 to 5 are not fetched
    s.replayed(list[4]);
    await until('6 and 7 spooled', () => inSpool().join() === list.slice(5, 7).join());
    const stats = await s.stop();
    expect(stats.served).toBe(0);
  });

  it('stops and removes its folder when the run is aborted', async () => {
    const list = names(1, 3);
    for (const n of list) archive(n, randomBytes(1024 * 1024));
    const ac = new AbortController();
    const s = start(list, 3, ac.signal);
    ac.abort(new Error('SIGTERM'));
    await s.stop();
    expect(fs.existsSync(spoolFolder(pgdata))).toBe(false);
  });

  // restore_command with this spool, run by sh in the data directory as PostgreSQL runs it (an archive recovery:
  // recovery.signal), its answer written to pgdata/RECOVERYXLOG; pid stands in for the pgops process that answers
  async function restore(name: string, pid?: number) {
    await initTestRepo(`file://${path.join(root, 'repo')}`);
    fs.writeFileSync(path.join(pgdata, 'recovery.signal'), '');
    let command = restoreCommandFor(`file://${path.join(root, 'repo')}`, SYSTEM, {}, spoolFolder(pgdata));
    if (pid !== undefined) command = command.replaceAll(`/proc/${process.pid} `, `/proc/${pid} `);
    const sh = command.replaceAll('%f', name).replaceAll('%p', 'pg_wal/RECOVERYXLOG').replaceAll('%%', '%');
    fs.mkdirSync(path.join(pgdata, 'pg_wal'), { recursive: true });
    const r = await execa('sh', ['-c', sh], { cwd: pgdata, reject: false, env: { PATH: process.env.PATH, PGOPS_VERBOSE: '1' } });
    const out = path.join(pgdata, 'pg_wal', 'RECOVERYXLOG');
    const restored = fs.existsSync(out) ? fs.readFileSync(out) : undefined;
    fs.rmSync(out, { force: true });
    return { exitCode: r.exitCode, stderr: r.stderr, restored };
  }
  // what is left of restore_command's questions and answers in the folder
  const leftovers = () => inSpool().filter((f) => f.endsWith(ASK_SUFFIX) || f.endsWith(ABSENT_SUFFIX));
  const history = (tl: number) => `${tl.toString(16).toUpperCase().padStart(8, '0')}.history`;

  it("answers restore_command's questions itself: a file it lacks is fetched and handed over, one never archived is \"not archived\" (exit 5), and wal fetch never runs", async () => {
    const list = names(1, 3);
    for (const n of list) archive(n);
    archive(history(2), Buffer.from('1\t0/3000000\tno recovery target specified\n'));
    const s = start(list, 8);
    await until('the segments spooled', () => inSpool().join() === list.join());
    // the next timeline's history, asked for at the start and the end of a recovery: not archived
    const next = await restore(history(3));
    expect(next).toMatchObject({ exitCode: 5, restored: undefined });
    // an archived history file the spool never fetched ahead
    const archived = await restore(history(2));
    expect(archived.exitCode, archived.stderr).toBe(0);
    expect(archived.restored!.equals(content.get(history(2))!)).toBe(true);
    // the spooled segments, then the last one again (as PostgreSQL asks once replay is done), then the end of the archive
    for (const n of list) expect((await restore(n)).restored!.equals(content.get(n)!)).toBe(true);
    const again = await restore(list[2]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.restored!.equals(content.get(list[2])!)).toBe(true);
    expect(await restore(names(4, 4)[0])).toMatchObject({ exitCode: 5, restored: undefined });
    // wal fetch logs every run (PGOPS_VERBOSE): none ran
    for (const r of [next, archived, again]) expect(r.stderr).toBe('');
    expect(leftovers()).toEqual([]);
    const stats = await s.stop();
    expect(stats).toMatchObject({ answered: 4, served: 5, fetched: 3 });
  });

  it('leaves what wal fetch must say to wal fetch: a segment missing before a later one (a gap, exit 128) and a damaged file', async () => {
    const list = withDamagedAndMissing();
    const s = start([list[0]], 8);
    await until('the first segment spooled', () => inSpool().join() === list[0]);
    const damaged = await restore(list[1]);
    expect(damaged.exitCode).toBe(128);
    expect(damaged.stderr).toContain(`${list[1]} in file://${path.join(root, 'repo')} does not match its sidecar`);
    const gap = await restore(list[2]);
    expect(gap.exitCode).toBe(128);
    expect(gap.stderr).toContain(`WAL file ${list[2]} is missing from`);
    expect(gap.restored).toBeUndefined();
    expect(leftovers()).toEqual([]);
    expect((await s.stop()).answered).toBe(0);
  });

  it('runs wal fetch when the pgops process that answers is gone, and when there is no spool folder', async () => {
    archive(names(1, 1)[0]);
    // a pid no process has: the folder is there, nobody answers
    fs.mkdirSync(spoolFolder(pgdata));
    const dead = await restore(history(2), 2 ** 22 + 1);
    expect(dead.exitCode).toBe(5);
    expect(dead.stderr).toContain(`${history(2)} is not in`);
    expect(leftovers()).toEqual([]);
    fs.rmSync(spoolFolder(pgdata), { recursive: true });
    const none = await restore(names(1, 1)[0]);
    expect(none.exitCode, none.stderr).toBe(0);
    expect(none.stderr).toContain(`restored ${names(1, 1)[0]}`);
    expect(fs.existsSync(spoolFolder(pgdata))).toBe(false);
  });
});
