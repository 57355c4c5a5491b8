import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../lib/log.ts';
import { FileRepo } from '../../../../lib/repo/file.ts';
import { dataKey, sidecarKey } from '../../../../lib/repo/layout.ts';
import { encodeSidecar, SIDECAR_FORMAT, type Sidecar } from '../../../../lib/repo/wal-sidecar.ts';
import { aheadFor, segmentsToReplay, spoolFolder, startSpool, type Spool } from '../../../../lib/tasks/recover/spool.ts';
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
    const list = names(1, 4);
    archive(list[0]);
    const good = randomBytes(4096);
    const bad = Buffer.from(good);
    bad[100] ^= 0xff;
    archive(list[1], bad, good);
    archive(list[3]);
    // list[2] is not archived at all
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
});
