import { describe, expect, it } from 'vitest';
import type { StoredObject } from '../../../../lib/repo/repo.ts';
import { planWalExpiry, storedWalFiles, type KeptBaseBackup } from '../../../../lib/tasks/prune/wal-expiry.ts';
import { walRanges, formatWal } from '../../../../lib/tasks/prune/report.ts';

const SYS = '7300000000000000000';
const T = new Date('2026-11-22T12:00:00Z');

// The objects wal push leaves for a name: the data object (gzip) and its sidecar.
function pushed(name: string, system = SYS, size = 1000): StoredObject[] {
  return [
    { key: `wal/${system}/${name}.gz`, size, modified: T },
    { key: `wal/${system}/${name}.json`, size: 200, modified: T },
  ];
}

const kept = (id: string, start: string): KeptBaseBackup => ({ id, manifest: { start: { segment: start }, wal: { first: start } } });

function plan(names: string[], backups: KeptBaseBackup[], extra: StoredObject[] = []) {
  return planWalExpiry(SYS, storedWalFiles(SYS, [...names.flatMap((n) => pushed(n)), ...extra]), backups);
}
const doomedNames = (p: ReturnType<typeof plan>) => p.doomed.map((f) => f.name);

describe('planWalExpiry', () => {
  it('deletes everything below the oldest kept base backup’s start segment, and keeps it and all after it', () => {
    const names = ['000000010000000000000001', '000000010000000000000002', '000000010000000000000003', '000000010000000000000004', '000000010000000000000005'];
    const p = plan(names, [kept('20261122T031700Z', '000000010000000000000005'), kept('20261121T031700Z', '000000010000000000000003')]);
    expect(doomedNames(p)).toEqual(['000000010000000000000001', '000000010000000000000002']);
    expect(p.cutoff).toEqual({ segment: '000000010000000000000003', backupId: '20261121T031700Z' });
    expect(p.kept).toEqual({ files: 3, bytes: 3 * 1200 });
    expect(p.keptBecause).toBeUndefined();
  });

  it('deletes each file’s sidecar before its data object', () => {
    const p = plan(['000000010000000000000001', '000000010000000000000002'], [kept('B', '000000010000000000000002')]);
    expect(p.doomed).toEqual([{ name: '000000010000000000000001', kind: 'segment', timeline: 1, keys: [`wal/${SYS}/000000010000000000000001.json`, `wal/${SYS}/000000010000000000000001.gz`], bytes: 1200 }]);
  });

  it('compares segment numbers across timelines: a later timeline that branched below the cutoff loses its files below it too', () => {
    // timeline 2 branched at segment 4; the oldest kept backup starts at 6 on timeline 1, a newer one at 9 on timeline 2
    const names = [
      '000000010000000000000003', '000000010000000000000004', '000000010000000000000005', '000000010000000000000006', '000000010000000000000007',
      '000000020000000000000004', '000000020000000000000005', '000000020000000000000006', '000000020000000000000009',
    ];
    const p = plan(names, [kept('B2', '000000020000000000000009'), kept('B1', '000000010000000000000006')]);
    expect(doomedNames(p)).toEqual(['000000010000000000000003', '000000010000000000000004', '000000020000000000000004', '000000010000000000000005', '000000020000000000000005']);
    expect(p.cutoff?.segment).toBe('000000010000000000000006');
    // the minimum over every kept backup, whatever its timeline
    const q = plan(names, [kept('B2', '000000020000000000000005'), kept('B1', '000000010000000000000006')]);
    expect(doomedNames(q)).toEqual(['000000010000000000000003', '000000010000000000000004', '000000020000000000000004']);
    expect(q.cutoff).toEqual({ segment: '000000020000000000000005', backupId: 'B2' });
  });

  it('deletes .partial and .backup files below the cutoff, keeps those at or above it, and keeps every .history file', () => {
    const names = [
      '00000002.history', '00000003.history',
      '000000010000000000000002.00000028.backup', '000000010000000000000002',
      '000000010000000000000003.partial', '000000020000000000000003',
      '000000020000000000000004.00000060.backup', '000000020000000000000004',
      '000000030000000000000004.partial',
    ];
    const p = plan(names, [kept('B', '000000020000000000000004')]);
    expect(doomedNames(p)).toEqual(['000000010000000000000002', '000000010000000000000002.00000028.backup', '000000010000000000000003.partial', '000000020000000000000003']);
    expect(p.kept.files).toBe(5);
  });

  it('handles the log part of segment names (the 4 GB boundary)', () => {
    const names = ['0000000100000000000000FE', '0000000100000000000000FF', '000000010000000100000000', '000000010000000100000001'];
    expect(doomedNames(plan(names, [kept('B', '000000010000000100000000')]))).toEqual(['0000000100000000000000FE', '0000000100000000000000FF']);
  });

  it('keeps all WAL of a system without a kept complete base backup', () => {
    const p = plan(['000000010000000000000001', '000000010000000000000002'], []);
    expect(p.doomed).toEqual([]);
    expect(p.keptBecause).toBe('no base backup: WAL kept');
    expect(p.kept).toEqual({ files: 2, bytes: 2400 });
    expect(formatWal(p)).toBe(`wal of system ${SYS}: no base backup: WAL kept (2 file(s), 2.3 kB)`);
  });

  it('keeps all WAL when blocked (a base backup whose manifest cannot be read), or when a kept backup names no valid start', () => {
    const files = storedWalFiles(SYS, pushed('000000010000000000000001'));
    const blocked = planWalExpiry(SYS, files, [kept('B', '000000010000000000000005')], 'base backup X has a manifest this pgops cannot read: WAL kept until a person looks at it');
    expect(blocked.doomed).toEqual([]);
    expect(blocked.keptBecause).toContain('cannot read');
    const bad = planWalExpiry(SYS, files, [kept('B', '000000010000000000000005'), kept('C', 'not-a-segment')]);
    expect(bad.doomed).toEqual([]);
    expect(bad.keptBecause).toBe('base backup C names no valid start segment ("not-a-segment"): WAL kept');
  });

  it('never touches objects that are no WAL file of this system: temp files, other names, another system’s folder', () => {
    const extra: StoredObject[] = [
      { key: `wal/${SYS}/.pgops-tmp-000000010000000000000001-12-ab`, size: 5, modified: T },
      { key: `wal/${SYS}/README`, size: 5, modified: T },
      ...pushed('000000010000000000000001', `${SYS}9`),
      { key: `wal/${SYS}/sub/000000010000000000000001`, size: 5, modified: T },
    ];
    const p = plan(['000000010000000000000001'], [kept('B', '000000010000000000000009')], extra);
    expect(p.doomed.flatMap((f) => f.keys)).toEqual([`wal/${SYS}/000000010000000000000001.json`, `wal/${SYS}/000000010000000000000001.gz`]);
  });

  it('counts a data object without its sidecar as a file to delete (a push that died half-way)', () => {
    const files = storedWalFiles(SYS, [{ key: `wal/${SYS}/000000010000000000000001.gz`, size: 10, modified: T }, ...pushed('000000010000000000000002')]);
    expect(planWalExpiry(SYS, files, [kept('B', '000000010000000000000002')]).doomed.map((f) => f.keys)).toEqual([[`wal/${SYS}/000000010000000000000001.gz`]]);
  });
});

describe('the WAL plan as text', () => {
  it('names what goes per timeline, first..last, with counts and sizes, and where the kept range starts', () => {
    const names = ['000000010000000000000001', '000000010000000000000002', '000000010000000000000003', '000000020000000000000003', '000000020000000000000004'];
    const p = plan(names, [kept('20261121T031700Z', '000000020000000000000004')]);
    expect(walRanges(p.doomed)).toBe('000000010000000000000001..000000010000000000000003: 3 files, 3.5 kB; 000000020000000000000003: 1 file, 1.2 kB');
    expect(formatWal(p)).toBe(
      `wal of system ${SYS}: delete 000000010000000000000001..000000010000000000000003: 3 files, 3.5 kB; 000000020000000000000003: 1 file, 1.2 kB; ` +
        'kept from 000000020000000000000004 on, the start of base backup 20261121T031700Z, the oldest kept (1 file(s), 1.2 kB; history files always kept)',
    );
    const none = plan(['000000010000000000000004'], [kept('B', '000000010000000000000004')]);
    expect(formatWal(none)).toMatch(/^wal of system \d+: nothing below 000000010000000000000004 to delete; kept from 000000010000000000000004 on/);
  });
});
