import { describe, expect, it } from 'vitest';
import { PITR_DRILL_REPORT_FORMAT, type PitrDrillReport } from '../../../../../lib/repo/pitr-drill-reports.ts';
import { renderMarkdown, renderText } from '../../../../../lib/tasks/drill/pitr/render.ts';

const SYS = '7714327887945053092';

function report(over: Partial<PitrDrillReport> = {}): PitrDrillReport {
  return {
    format: PITR_DRILL_REPORT_FORMAT, reportVersion: 1, drillId: '20261201T133213Z', systemIdentifier: SYS, backupId: '20261201T133210Z', result: 'pass',
    startedAt: '2026-12-01T13:32:13.416Z', finishedAt: '2026-12-01T13:32:18.298Z', target: 'latest',
    archiveEnd: { segment: '000000010000000000000008', timeline: 1, lsn: '0/9000000', archivedAt: '2026-12-01T13:32:12.219Z' },
    replay: { reached: true, state: 'promoted', lsn: '0/8003F20', timeline: 2, lastTransactionTime: '2026-12-01T13:32:11.766+00:00' },
    durations: { downloadMs: 48, layDownMs: 1818, verifyMs: 76, replayMs: 1563, checksMs: 662 }, rtoMs: 3505, rpoMs: 1650,
    limits: { maxRtoMs: null, maxRpoMs: null }, integrity: { databases: 2, tables: 137, rows: 41992 },
    scratch: { dir: '/tmp/pgops-pitr-1-abc', port: 5999, kept: false },
    checks: [
      { name: 'recovery target', status: 'pass', detail: 'reached latest' },
      { name: 'integrity read', status: 'pass', detail: '137 tables' },
    ],
    tool: { name: 'pgops', version: '0.1.0' },
    ...over,
  };
}

describe('point-in-time drill summary', () => {
  it('reads like the logical drill: verdict with RTO and RPO, where replay stopped, checks, report and scratch folder', () => {
    expect(renderText(report())).toBe([
      `point-in-time drill of base backup 20261201T133210Z of system ${SYS} to latest PASSED: RTO 3.5s, RPO 1.6s`,
      '  replay stopped at 0/8003F20 (timeline 2), last transaction 2026-12-01T13:32:11.766+00:00, server promoted (download 0.0s, lay-down 1.8s, pg_verifybackup 0.1s, replay 1.6s, checks 0.7s)',
      '  ok   recovery target: reached latest',
      '  ok   integrity read: 137 tables',
      `report: drills/@${SYS}/20261201T133213Z.json; scratch folder /tmp/pgops-pitr-1-abc removed`,
    ].join('\n'));
  });

  it('puts failures first, shows the error, and says how to look at and remove a kept scratch folder', () => {
    const text = renderText(report({
      result: 'fail', replay: null, rtoMs: null, rpoMs: null, scratch: { dir: '/tmp/s', port: 6000, kept: true },
      checks: [{ name: 'wal archive', status: 'pass', detail: 'continuous' }, { name: 'base backup', status: 'fail', detail: 'checksum mismatch in base.tar' }],
    }));
    const lines = text.split('\n');
    expect(lines[0]).toBe(`point-in-time drill of base backup 20261201T133210Z of system ${SYS} to latest FAILED (1 check): RTO -, RPO -`);
    expect(lines[1]).toMatch(/^ {2}replay did not run/);
    expect(lines[2]).toBe('  FAIL base backup: checksum mismatch in base.tar');
    expect(lines.at(-1)).toContain('scratch folder /tmp/s kept (--keep): the server listens on port 6000, socket in /tmp/s (psql -h /tmp/s -p 6000 postgres)');
    expect(lines.at(-1)).toContain('rm -rf /tmp/s');
    expect(renderText(report({ result: 'error', error: 'interrupted by SIGTERM' }))).toContain('COULD NOT RUN');
  });

  it('writes a markdown table for the job summary, pipes escaped', () => {
    const md = renderMarkdown(report({ checks: [{ name: 'assertion a|b', status: 'fail', detail: 'x | y' }], result: 'fail' }));
    expect(md).toContain('### pgops point-in-time drill: ❌ point-in-time drill of base backup');
    expect(md).toContain('| ❌ | assertion a\\|b | x \\| y |');
  });
});
