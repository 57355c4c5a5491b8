import { describe, expect, it } from 'vitest';
import { gradeVerify, type Finding, type VerifyCounts } from '../../../../lib/tasks/verify/grade.ts';

const COUNTS: VerifyCounts = { sets: 2, walSystems: 1, files: 40, bytes: 3 * 1024 ** 2, damaged: 0, missing: 0, missingSegments: 0 };
const f = (level: Finding['level'], text: string, kind: Finding['kind'] = 'damaged', key?: string): Finding => ({ level, kind, text, ...(key ? { key } : {}) });

describe('verify grading', () => {
  it('is OK with the counts and perfdata when nothing is wrong', () => {
    const g = gradeVerify([f(0, 'a set matches', 'ok')], COUNTS, 12.34, 'WAL of system 7 continuous from A to B');
    expect(g.level).toBe(0);
    expect(g.line).toBe(
      "PGOPS VERIFY OK - 40 files (3.0 MB) of 2 set(s) and 1 WAL archive(s) match their manifests and sidecars; WAL of system 7 continuous from A to B | 'files'=40;;;0 'bytes'=3145728B;;;0 'seconds'=12.3s;;;0 'damaged'=0;;0;0 'missing'=0;;0;0 'missing_segments'=0;;;0",
    );
    expect(g.lines).toEqual([g.line, '[OK] a set matches']);
  });

  it('lets CRITICAL outrank WARNING and UNKNOWN, and names the worst problems first', () => {
    const g = gradeVerify([f(1, 'an orphan', 'orphan'), f(3, 'could not read x', 'unreadable'), f(2, 'dump is damaged')], { ...COUNTS, damaged: 1 }, 1);
    expect(g.level).toBe(2);
    expect(g.line).toMatch(/^PGOPS VERIFY CRITICAL - 1 damaged of 40 files \(3\.0 MB\) of 2 set\(s\) and 1 WAL archive\(s\): dump is damaged; an orphan; could not read x \| /);
    expect(g.lines.slice(1)).toEqual(['[CRITICAL] dump is damaged', '[WARNING] an orphan', '[UNKNOWN] could not read x']);
    expect(gradeVerify([f(3, 'could not read x', 'unreadable'), f(2, 'dump is damaged')], COUNTS, 1).level).toBe(2);
  });

  it('lets a WARNING win beside an UNKNOWN, and is UNKNOWN when nothing else is wrong', () => {
    const g = gradeVerify([f(3, 'could not read x', 'unreadable'), f(1, 'an orphan', 'orphan'), f(0, 'a set matches', 'ok')], COUNTS, 1);
    expect(g.level).toBe(1);
    expect(g.line).toMatch(/^PGOPS VERIFY WARNING - 40 files \(3\.0 MB\) of 2 set\(s\) and 1 WAL archive\(s\): an orphan; could not read x \| /);
    expect(g.lines.slice(1)).toEqual(['[WARNING] an orphan', '[UNKNOWN] could not read x', '[OK] a set matches']);
    expect(gradeVerify([f(3, 'could not read x', 'unreadable'), f(0, 'a set matches', 'ok')], COUNTS, 1).level).toBe(3);
    expect(gradeVerify([f(1, 'an orphan', 'orphan')], COUNTS, 1).level).toBe(1);
  });

  it('names the runbook step of the worst findings: a set\'s file, or the WAL archive\'s', () => {
    expect(gradeVerify([f(0, 'a set matches', 'ok')], COUNTS, 1).runbook).toEqual([]);
    expect(gradeVerify([f(2, 'dump is damaged', 'damaged', 'backups/app/20261122T031700Z/dump'), f(1, 'an orphan', 'orphan')], COUNTS, 1).runbook).toEqual(['runbooks/verify.md#4-a-damaged-or-missing-file-of-a-backup-set']);
    // a damaged or missing archived WAL file is handled with the archive's gaps
    const wal = [f(2, 'segment is missing', 'missing', 'wal/7/000000010000000000000003'), f(2, 'a gap', 'wal', 'wal/7/000000010000000000000003')];
    expect(gradeVerify(wal, COUNTS, 1).runbook).toEqual(['runbooks/verify.md#3-a-damaged-or-missing-wal-file-or-a-gap']);
    expect(gradeVerify([...wal, f(2, 'dump is damaged', 'damaged', 'backups/app/x/dump')], COUNTS, 1).runbook).toEqual([
      'runbooks/verify.md#3-a-damaged-or-missing-wal-file-or-a-gap',
      'runbooks/verify.md#4-a-damaged-or-missing-file-of-a-backup-set',
    ]);
    expect(gradeVerify([f(1, 'no manifest', 'incomplete'), f(1, 'a temp file', 'temp'), f(1, 'no sidecar', 'orphan')], COUNTS, 1).runbook).toEqual(['runbooks/backup-failed.md', 'runbooks/verify.md#5-leftovers-warning']);
    expect(gradeVerify([f(3, 'could not read x', 'unreadable')], COUNTS, 1).runbook).toEqual([]);
  });

  it('names five problems in the status line and every one in the lines below', () => {
    const many = Array.from({ length: 8 }, (_, i) => f(2, `file ${i} is missing`, 'missing'));
    const g = gradeVerify(many, { ...COUNTS, missing: 8 }, 1);
    expect(g.line).toContain('file 4 is missing; and 3 more (listed below) |');
    expect(g.line).not.toContain('file 5');
    expect(g.lines).toHaveLength(9);
    expect(g.line).toContain("'missing'=8;;0;0");
  });
});
