import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BaseBackupManifest } from '../../../../lib/repo/basebackup-manifest.ts';
import type { FileRepo } from '../../../../lib/repo/file.ts';
import { basebackupManifestKey, basebackupPrefix, dataKey, sidecarKey } from '../../../../lib/repo/layout.ts';
import { encodeSidecar } from '../../../../lib/repo/wal-sidecar.ts';
import { segmentSizesOf, newestTimeline } from '../../../../lib/tasks/recover/archive.ts';
import { planRecovery } from '../../../../lib/tasks/recover/plan.ts';
import { targetFromOptions, type RecoveryTarget } from '../../../../lib/tasks/recover/target.ts';
import { segmentName } from '../../../../lib/wal/names.ts';
import { madeUpBaseBackupManifest } from '../../../support/manifest.ts';
import { tempFileRepo } from '../../../support/repo.ts';

const SYS = '7300000000000000000';
const SEG = 16 * 1024 * 1024;
const seg = (tli: number, n: number) => segmentName(tli, n, SEG);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let root: string;
let repo: FileRepo;

beforeEach(async () => {
  ({ root, repo } = await tempFileRepo('pgops-plan-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

// A WAL file with its sidecar, archived at `at` (the sidecar's modification time is what the listing shows).
async function archive(name: string, at: string, content = Buffer.from(`wal ${name}`)): Promise<void> {
  await repo.putBytes(dataKey(SYS, name, 'none'), content);
  await repo.putBytes(sidecarKey(SYS, name), encodeSidecar({ format: 'pgops-wal', version: 1, name, systemIdentifier: SYS, size: content.length, sha256: sha(content), compression: 'none', stored: name, storedSize: content.length, pushedAt: at }));
  const t = new Date(at);
  fs.utimesSync(path.join(root, sidecarKey(SYS, name)), t, t);
}

// A complete base backup whose WAL runs from segment `first` to `last` on timeline 1, consistent at `stop`.
async function baseBackup(id: string, o: { first: number; last: number; stopLsn: string; stopTime: string; restorePoint?: string; label?: string }): Promise<BaseBackupManifest> {
  const files = [];
  for (const name of ['base.tar', 'backup_manifest']) {
    const data = Buffer.from(`${name} of ${id}`);
    await repo.putBytes(basebackupPrefix(SYS, id) + name, data);
    files.push({ path: name, size: data.length, sha256: sha(data) });
  }
  const m = madeUpBaseBackupManifest({
    backupId: id,
    start: { lsn: `0/${o.first.toString(16).toUpperCase()}000028`, segment: seg(1, o.first), time: o.stopTime },
    stop: { lsn: o.stopLsn, segment: seg(1, o.last), time: o.stopTime },
    wal: { first: seg(1, o.first), last: seg(1, o.last) },
    files,
    totalSize: files.reduce((s, f) => s + f.size, 0),
    restorePoint: o.restorePoint ? { name: o.restorePoint, lsn: o.stopLsn.replace(/..$/, 'F0') } : undefined,
    label: o.label,
  });
  await repo.putBytes(basebackupManifestKey(SYS, id), JSON.stringify(m));
  return m;
}

const plan = (target: RecoveryTarget, backup = 'latest') => planRecovery(repo, { backup }, target);
const time = (t: string) => targetFromOptions({ targetTime: t });

describe('the recovery plan', () => {
  beforeEach(async () => {
    // two base backups: one in segment 2 (consistent 03:00), one in segment 5 (consistent 05:00); the archive holds
    // segments 2 to 8, the last one archived at 09:00
    await baseBackup('20261122T030000Z', { first: 2, last: 2, stopLsn: '0/2000100', stopTime: '2026-11-22T03:00:00.000Z', restorePoint: '20261122T030000Z' });
    await baseBackup('20261122T050000Z', { first: 5, last: 5, stopLsn: '0/5000100', stopTime: '2026-11-22T05:00:00.000Z', label: 'pre-migration-42' });
    for (let i = 2; i <= 8; i += 1) await archive(seg(1, i), `2026-11-22T0${i + 1}:00:00.000Z`);
  });

  it('picks the newest base backup that ended before the target, and says where the archive ends', async () => {
    const p = await plan({ kind: 'latest' });
    expect(p.backup.id).toBe('20261122T050000Z');
    expect(p.archiveEnd).toEqual({ segment: seg(1, 8), timeline: 1, lsn: '0/9000000', archivedAt: new Date('2026-11-22T09:00:00.000Z') });
    expect(p.wal).toEqual({ first: seg(1, 5), last: seg(1, 8), segments: 4, timelines: [1] });
    expect(p.gap).toBeUndefined();
    expect((await plan(time('2026-11-22 04:00:00+00'))).backup.id).toBe('20261122T030000Z');
    expect((await plan(time('2026-11-22 05:00:00+00'))).backup.id).toBe('20261122T050000Z');
    expect((await plan({ kind: 'lsn', lsn: '0/4000000' })).backup.id).toBe('20261122T030000Z');
    // a restore point a base backup made: that backup, though a later one exists
    expect((await plan({ kind: 'name', name: '20261122T030000Z' })).backup.id).toBe('20261122T030000Z');
    expect((await plan({ kind: 'immediate' }, 'label:pre-migration-42')).backup.id).toBe('20261122T050000Z');
  });

  it('refuses a target before every base backup (exit 5), and one before the --backup given (exit 3), naming one that fits', async () => {
    await expect(plan(time('2026-11-22 02:00:00+00'))).rejects.toMatchObject({ code: 5, message: expect.stringMatching(/no complete base backup .* ended before the recovery target/) });
    await expect(plan(time('2026-11-22 04:00:00+00'), '20261122T050000Z')).rejects.toMatchObject({
      code: 3,
      message: expect.stringMatching(/base backup 20261122T050000Z became consistent at 0\/5000100 \(2026-11-22T05:00:00.000Z\), after the recovery target time 2026-11-22 04:00:00\+00: .*base backup 20261122T030000Z .* fits: --backup 20261122T030000Z/),
    });
    await expect(plan({ kind: 'lsn', lsn: '0/1000000' }, '20261122T030000Z')).rejects.toMatchObject({ code: 3, message: expect.stringMatching(/no base backup of the repository ended before it/) });
  });

  it('refuses a target past the end of the archive (exit 3): an LSN beyond its last segment, a time after it was archived', async () => {
    await expect(plan({ kind: 'lsn', lsn: '0/9000001' })).rejects.toMatchObject({
      code: 3,
      message: `the recovery target lsn 0/9000001 lies past the end of the archive: the archive ends with ${seg(1, 8)} (up to 0/9000000), archived at 2026-11-22T09:00:00.000Z`,
      hint: expect.stringMatching(/pg_switch_wal\(\).*--target latest/),
    });
    await expect(plan(time('2026-11-22 09:00:01+00'))).rejects.toMatchObject({ code: 3, message: expect.stringMatching(/later transactions are not archived yet/) });
    expect((await plan({ kind: 'lsn', lsn: '0/9000000' })).backup.id).toBe('20261122T050000Z');
    expect((await plan(time('2026-11-22 09:00:00+00'))).backup.id).toBe('20261122T050000Z');
  });

  describe('with a gap in the archive (segment 7 missing)', () => {
    beforeEach(async () => {
      await repo.delete([sidecarKey(SYS, seg(1, 7))]);
    });

    it('records it and allows targets before it', async () => {
      const p = await plan({ kind: 'lsn', lsn: '0/6FFFFFF' });
      expect(p.gap).toBe(seg(1, 7));
      expect(p.wal).toMatchObject({ first: seg(1, 5), last: seg(1, 6), segments: 3 });
      expect((await plan(time('2026-11-22 07:00:00+00'))).gap).toBe(seg(1, 7));
      expect((await plan({ kind: 'immediate' })).gap).toBe(seg(1, 7));
    });

    it('refuses latest and targets past it, naming the missing file (exit 5)', async () => {
      for (const t of [{ kind: 'latest' } as const, { kind: 'lsn', lsn: '0/7000000' } as const, time('2026-11-22 07:00:01+00')]) {
        await expect(plan(t)).rejects.toMatchObject({ code: 5, message: expect.stringMatching(new RegExp(`WAL file ${seg(1, 7)} is missing from .*: replay to .* would have to cross it`)), hint: expect.stringMatching(/--target-lsn 0\/6FFFFFF or earlier/) });
      }
    });

    it('warns where the target cannot be placed (an xid)', async () => {
      const p = await plan({ kind: 'xid', xid: '900' });
      expect(p.warnings).toEqual([expect.stringMatching(new RegExp(`WAL file ${seg(1, 7)} is missing .* if xid 900 lies after it, recovery stops there`))]);
    });

    it('refuses a backup whose own WAL is missing', async () => {
      await repo.delete([sidecarKey(SYS, seg(1, 5))]);
      await expect(plan({ kind: 'immediate' })).rejects.toMatchObject({ code: 5, message: expect.stringMatching(new RegExp(`${seg(1, 5)} is missing .* base backup 20261122T050000Z needs it to become consistent`)) });
    });
  });

  it('follows the newest timeline whose history file is archived', async () => {
    const history = Buffer.from('1\t0/7000060\tno recovery target specified\n');
    await archive('00000002.history', '2026-11-22T10:00:00.000Z', history);
    await archive(seg(2, 7), '2026-11-22T10:00:00.000Z');
    await archive(seg(2, 9), '2026-11-22T11:00:00.000Z');
    await expect(plan({ kind: 'latest' })).rejects.toMatchObject({ message: expect.stringMatching(new RegExp(`WAL file ${seg(2, 8)} is missing`)) });
    await archive(seg(2, 8), '2026-11-22T10:30:00.000Z');
    const p = await plan({ kind: 'latest' });
    expect(p.archiveEnd).toMatchObject({ segment: seg(2, 9), timeline: 2, lsn: '0/A000000' });
    expect(p.wal).toMatchObject({ first: seg(1, 5), last: seg(2, 9), segments: 5, timelines: [1, 2] });
  });
});

describe('archive facts', () => {
  it('derives the segment size from where a backup starts, all sizes in the first megabyte of a 4 GB log', () => {
    expect(segmentSizesOf('0/2000028', '000000010000000000000002')).toEqual([16 * 1024 * 1024]);
    expect(segmentSizesOf('0/4000028', '000000010000000000000001')).toEqual([64 * 1024 * 1024]);
    expect(segmentSizesOf('1/0000028', '000000010000000100000000')).toHaveLength(11);
    expect(segmentSizesOf('0/2000028', '000000010000000000000007')).toEqual([]);
  });

  it('finds the newest timeline as PostgreSQL does: up from the backup, while the next history file is archived', () => {
    const files = new Map(['00000002.history', '00000003.history', '00000005.history'].map((name) => [name, { name, complete: true }]));
    expect(newestTimeline(files, 1)).toBe(3);
    expect(newestTimeline(files, 4)).toBe(5);
    expect(newestTimeline(new Map(), 1)).toBe(1);
  });
});
