import { describe, expect, it } from 'vitest';
import { checkResult, couldNotRun } from '../../../lib/check/result.ts';
import { usageError } from '../../../lib/errors.ts';
import { silentLogger } from '../../../lib/log.ts';

describe('check results', () => {
  it('exits with the level and starts the JSON with the status and the line', () => {
    const r = checkResult(1, 'PGOPS WAL WARNING - x', { pending: 3 });
    expect(r).toEqual({ exitCode: 1, summary: 'PGOPS WAL WARNING - x', data: { status: 'WARNING', exitCode: 1, line: 'PGOPS WAL WARNING - x', pending: 3 } });
    expect(Object.keys(r.data as object)).toEqual(['status', 'exitCode', 'line', 'pending']);
    expect(checkResult(0, 'PGOPS HEALTH OK - 10 checks ok', {}, 'line\n[OK] a').summary).toBe('line\n[OK] a');
  });

  it('is UNKNOWN as a status line when the check could not run, and logs the error with its hint', () => {
    const log = silentLogger('status');
    const r = couldNotRun('STATUS', usageError('cannot reach s3://b/p:\nconnection refused', 'is the endpoint up?'), log, { databases: [] });
    expect(r).toEqual({
      exitCode: 3,
      summary: 'PGOPS STATUS UNKNOWN - cannot reach s3://b/p: connection refused',
      data: { status: 'UNKNOWN', exitCode: 3, line: 'PGOPS STATUS UNKNOWN - cannot reach s3://b/p: connection refused', databases: [] },
    });
    expect(log.entries).toMatchObject([{ level: 'error', kind: 'failed', message: 'cannot reach s3://b/p:\nconnection refused', hint: 'is the endpoint up?' }]);
  });
});
