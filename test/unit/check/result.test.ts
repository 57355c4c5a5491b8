import { describe, expect, it } from 'vitest';
import { checkResult, couldNotRun } from '../../../lib/check/result.ts';
import { usageError } from '../../../lib/errors.ts';
import { silentLogger } from '../../../lib/log.ts';

describe('check results', () => {
  it('exits with the level and starts the JSON with the status, the line and the runbook pages', () => {
    const r = checkResult(1, 'PGOPS WAL WARNING - x', { pending: 3 });
    expect(r).toEqual({ exitCode: 1, summary: 'PGOPS WAL WARNING - x', data: { status: 'WARNING', exitCode: 1, line: 'PGOPS WAL WARNING - x', runbook: [], pending: 3 } });
    expect(Object.keys(r.data as object)).toEqual(['status', 'exitCode', 'line', 'runbook', 'pending']);
    expect(checkResult(0, 'PGOPS HEALTH OK - 10 checks ok', {}, { summary: 'line\n[OK] a' }).summary).toBe('line\n[OK] a');
  });

  it('names each runbook page on a line after the status line, which stays first and unchanged', () => {
    const runbook = ['runbooks/wal-archiving-failing.md', 'runbooks/wal-archiving.md#5-a-gap-in-the-archive'];
    const r = checkResult(2, 'PGOPS WAL CRITICAL - x | a=1', {}, { runbook });
    expect(r.summary).toBe('PGOPS WAL CRITICAL - x | a=1\nrunbook: runbooks/wal-archiving-failing.md\nrunbook: runbooks/wal-archiving.md#5-a-gap-in-the-archive');
    expect(r.data).toMatchObject({ line: 'PGOPS WAL CRITICAL - x | a=1', runbook });
    const long = checkResult(1, 'PGOPS HEALTH WARNING - y', {}, { summary: 'PGOPS HEALTH WARNING - y\n[WARNING] y\n[OK] z', runbook: ['runbooks/idle-cleanup.md'] });
    expect(long.summary.split('\n')).toEqual(['PGOPS HEALTH WARNING - y', 'runbook: runbooks/idle-cleanup.md', '[WARNING] y', '[OK] z']);
  });

  it('is UNKNOWN as a status line when the check could not run, and logs the error with its hint', () => {
    const log = silentLogger('status');
    const r = couldNotRun('STATUS', usageError('cannot reach s3://b/p:\nconnection refused', 'is the endpoint up?'), log, { databases: [] });
    expect(r).toEqual({
      exitCode: 3,
      summary: 'PGOPS STATUS UNKNOWN - cannot reach s3://b/p: connection refused',
      data: { status: 'UNKNOWN', exitCode: 3, line: 'PGOPS STATUS UNKNOWN - cannot reach s3://b/p: connection refused', runbook: [], databases: [] },
    });
    expect(log.entries).toMatchObject([{ level: 'error', kind: 'failed', message: 'cannot reach s3://b/p:\nconnection refused', hint: 'is the endpoint up?' }]);
  });
});
