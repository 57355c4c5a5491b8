import { describe, expect, it } from 'vitest';
import { gradeVerify, type Finding, type VerifyCounts } from '../../../../lib/tasks/verify/grade.ts';

const COUNTS: VerifyCounts = { sets: 2, walSystems: 1, files: 40, bytes: 3 * 1024 ** 2, damaged: 0, missing: 0, missingSegments: 0 };
const f = (level: Finding['level'], text: string, kind: Finding['kind'] = 'damaged'): Finding => ({ level, kind, text });

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

  it('names five problems in the status line and every one in the lines below', () => {
    const many = Array.from({ length: 8 }, (_, i) => f(2, `file ${i} is missing`, 'missing'));
    const g = gradeVerify(many, { ...COUNTS, missing: 8 }, 1);
    expect(g.line).toContain('file 4 is missing; and 3 more (listed below) |');
    expect(g.line).not.toContain('file 5');
    expect(g.lines).toHaveLength(9);
    expect(g.line).toContain("'missing'=8;;0;0");
  });
});
