import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { drillKey, pitrDrillKey } from '../../../lib/repo/layout.ts';
import { listDrillReports } from '../../../lib/repo/drill-reports.ts';
import { listPitrDrillReports, putPitrDrillReport, PITR_DRILL_REPORT_FORMAT, type PitrDrillReport } from '../../../lib/repo/pitr-drill-reports.ts';
import { AlreadyExistsError } from '../../../lib/repo/repo.ts';
import { tempFileRepo } from '../../support/repo.ts';

const A = '7300000000000000001';
const B = '7300000000000000002';
let root: string | undefined;
afterEach(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
  root = undefined;
});

function report(systemIdentifier: string, drillId: string, result: PitrDrillReport['result'] = 'pass'): PitrDrillReport {
  return {
    format: PITR_DRILL_REPORT_FORMAT, reportVersion: 1, drillId, systemIdentifier, backupId: '20261120T020000Z', result,
    startedAt: '2026-11-22T04:00:00.000Z', finishedAt: '2026-11-22T04:01:00.000Z', target: 'latest', archiveEnd: null, replay: null,
    durations: { downloadMs: null, layDownMs: null, verifyMs: null, replayMs: null, checksMs: null }, rtoMs: null, rpoMs: null,
    limits: { maxRtoMs: null, maxRpoMs: null }, integrity: null, scratch: { dir: '/tmp/x', port: null, kept: false }, checks: [], tool: { name: 'pgops', version: '0' },
  };
}

describe('point-in-time drill reports', () => {
  it('are stored in drills/@<system>/ and listed newest first, of one system or all', async () => {
    const t = await tempFileRepo('pgops-pitr-reports-');
    root = t.root;
    await putPitrDrillReport(t.repo, report(A, '20261121T040000Z'));
    await putPitrDrillReport(t.repo, report(A, '20261122T040000Z', 'fail'));
    await putPitrDrillReport(t.repo, report(B, '20261120T040000Z'));
    expect(fs.existsSync(`${root}/${pitrDrillKey(A, '20261122T040000Z')}`)).toBe(true);
    expect((await listPitrDrillReports(t.repo)).map((r) => [r.systemIdentifier, r.drillId, r.result])).toEqual([
      [A, '20261122T040000Z', 'fail'],
      [A, '20261121T040000Z', 'pass'],
      [B, '20261120T040000Z', 'pass'],
    ]);
    expect((await listPitrDrillReports(t.repo, B)).map((r) => r.drillId)).toEqual(['20261120T040000Z']);
  });

  it('never overwrite one another', async () => {
    const t = await tempFileRepo('pgops-pitr-reports-');
    root = t.root;
    await putPitrDrillReport(t.repo, report(A, '20261121T040000Z'));
    await expect(putPitrDrillReport(t.repo, report(A, '20261121T040000Z', 'fail'))).rejects.toBeInstanceOf(AlreadyExistsError);
    expect((await listPitrDrillReports(t.repo))[0].result).toBe('pass');
  });

  it('skip what proves nothing: unparsable files, other formats, a report under another system, logical reports', async () => {
    const t = await tempFileRepo('pgops-pitr-reports-');
    root = t.root;
    await putPitrDrillReport(t.repo, report(A, '20261121T040000Z'));
    await t.repo.putBytes(`drills/@${A}/20261122T040000Z.json`, '{not json');
    await t.repo.putBytes(`drills/@${A}/20261123T040000Z.json`, JSON.stringify({ ...report(A, '20261123T040000Z'), format: 'something-else' }));
    // a report of system B copied into A's folder
    await t.repo.putBytes(`drills/@${A}/20261124T040000Z.json`, JSON.stringify(report(B, '20261124T040000Z')));
    await t.repo.putBytes(drillKey('app', '20261125T040000Z'), JSON.stringify({ format: 'pgops-drill-report', database: 'app', drillId: '20261125T040000Z' }));
    expect((await listPitrDrillReports(t.repo)).map((r) => r.drillId)).toEqual(['20261121T040000Z']);
    // and the logical drill's listing does not take them for its own
    expect((await listDrillReports(t.repo)).map((r) => r.drillId)).toEqual(['20261125T040000Z']);
  });
});
