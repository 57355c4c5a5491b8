import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../../lib/log.ts';
import { listDrillReports, type DrillReport } from '../../../../lib/repo/drill-reports.ts';
import { FileRepo } from '../../../../lib/repo/file.ts';
import { recordDrill } from '../../../../lib/tasks/drill/record.ts';
import { renderText } from '../../../../lib/tasks/drill/render.ts';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-drill-record-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const report = (result: DrillReport['result']): DrillReport => ({
  format: 'pgops-drill-report', reportVersion: 1, drillId: '20261201T100000Z', database: 'app', backupId: '20261201T090000Z', result,
  startedAt: '2026-12-01T10:00:00.100Z', finishedAt: '2026-12-01T10:00:00.900Z', target: 'x', scratchDatabase: 's', kept: false,
  rtoMs: 800, rpoMs: 1, checks: [], tool: { name: 'pgops', version: '0' },
});

describe('recordDrill', () => {
  it('stores a drill that started in the same second as another under the next free second, never over it', async () => {
    const repo = new FileRepo(root);
    const [a, b, c] = [report('fail'), report('pass'), report('pass')];
    for (const r of [a, b, c]) await recordDrill(repo, r, silentLogger(), {});
    expect([a.drillId, b.drillId, c.drillId]).toEqual(['20261201T100000Z', '20261201T100001Z', '20261201T100002Z']);
    const stored = await listDrillReports(repo, 'app');
    expect(stored.map((r) => [r.drillId, r.result])).toEqual([
      ['20261201T100002Z', 'pass'],
      ['20261201T100001Z', 'pass'],
      ['20261201T100000Z', 'fail'],
    ]);
  });
});

describe('renderText', () => {
  it('says what became of the scratch database: kept, dropped, or never created when the checksums failed', () => {
    const restored = { ...report('pass'), checks: [{ name: 'checksums', status: 'pass' as const }, { name: 'restore', status: 'pass' as const }] };
    const damaged = { ...report('fail'), checks: [{ name: 'checksums', status: 'fail' as const, detail: 'dump: sha256 differs' }] };
    expect(renderText({ ...restored, kept: true })).toMatch(/scratch database s kept \(--keep\)$/);
    expect(renderText(restored)).toMatch(/scratch database s dropped$/);
    expect(renderText(damaged)).toMatch(/scratch database s not created$/);
  });
});
