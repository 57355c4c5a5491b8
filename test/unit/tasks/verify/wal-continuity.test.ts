import { describe, expect, it } from 'vitest';
import type { Repo } from '../../../../lib/repo/repo.ts';
import type { SegmentSizes } from '../../../../lib/tasks/verify/checks.ts';
import type { WalSystem } from '../../../../lib/tasks/verify/plan.ts';
import { judgeWal } from '../../../../lib/tasks/verify/wal-continuity.ts';
import type { ArchivedFile } from '../../../../lib/wal/continuity.ts';
import { segmentName } from '../../../../lib/wal/names.ts';

const SEG = 16 * 1024 * 1024;
const seg = (n: number) => segmentName(1, n, SEG);
// timeline 1 needs no history file: judgeWal reads nothing from the repository then
const noRepo = {} as Repo;

function system(names: string[]): WalSystem {
  const files = new Map<string, ArchivedFile>(names.map((name) => [name, { name, complete: true, rawSize: name.length === 24 ? SEG : 300, modified: new Date() }]));
  return { systemId: '7', folder: 'file:///r/wal/7/', files, withSidecar: names.length };
}
const sizes = (entries: [number, string[]][]): SegmentSizes => new Map(entries.map(([size, names]) => [size, { count: names.length, names }]));

describe('verify WAL continuity', () => {
  const label = `${seg(6)}.00000028.backup`;

  it('is CRITICAL for a gap from the oldest base backup label on, a WARNING for an older one', async () => {
    const names = [1, 2, 4, 5, 6, 7, 9, 10].map(seg);
    const { report, findings } = await judgeWal(noRepo, system([...names, label]), sizes([[SEG, names]]), new Date());
    expect(report).toMatchObject({ segmentSize: SEG, oldestBackupLabel: label, timelines: [1], continuity: { first: seg(1), last: seg(10), missingCount: 2 } });
    expect(findings.map((x) => [x.level, x.key, x.text])).toEqual([
      [1, `wal/7/${seg(3)}`, `file:///r/wal/7/: WAL ${seg(3)} is missing, older than the oldest base backup label ${label}: no backup in the archive needs it, but recovery cannot cross it`],
      [2, `wal/7/${seg(8)}`, `file:///r/wal/7/: WAL ${seg(8)} is missing: base backups from ${label} on cannot be recovered past it`],
    ]);
  });

  it('only warns of gaps when the archive holds no base backup label', async () => {
    const names = [1, 3].map(seg);
    const { findings } = await judgeWal(noRepo, system(names), sizes([[SEG, names]]), new Date());
    expect(findings.map((x) => [x.level, x.text])).toEqual([[1, expect.stringContaining(`WAL ${seg(2)} is missing, and the archive holds no base backup label`)]]);
  });

  it('is OK and says so when continuous, and CRITICAL for segments whose sidecars list another size', async () => {
    const names = [1, 2, 3].map(seg);
    const ok = await judgeWal(noRepo, system(names), sizes([[SEG, names]]), new Date());
    expect(ok.findings).toEqual([{ level: 0, kind: 'ok', key: 'wal/7/', text: `file:///r/wal/7/: 3 WAL files, continuous from ${seg(1)} to ${seg(3)} (3 segments, timeline 1; no base backup label)` }]);
    const odd = await judgeWal(noRepo, system(names), sizes([[SEG, names.slice(0, 2)], [SEG / 2, [seg(3)]]]), new Date());
    expect(odd.findings[0]).toMatchObject({ level: 2, text: `file:///r/wal/7/: 1 segment(s) are ${SEG / 2} bytes, not 16.0 MB like the others: ${seg(3)}` });
  });
});
