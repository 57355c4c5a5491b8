import { describe, expect, it } from 'vitest';
import { formatPerf, perfLabel, statusLine } from '../../../lib/check/output.ts';

describe('perfdata', () => {
  it("writes 'label'=value[uom];warn;crit;min;max, dropping empty trailing fields", () => {
    expect(formatPerf({ label: 'connections', value: 10, warn: 80, crit: 95, min: 0, max: 100 })).toBe("'connections'=10;80;95;0;100");
    expect(formatPerf({ label: 'missing_segments', value: 3, crit: 0, min: 0 })).toBe("'missing_segments'=3;;0;0");
    expect(formatPerf({ label: 'archive_failed', value: 7, uom: 'c' })).toBe("'archive_failed'=7c");
    expect(formatPerf({ label: 'future', value: 2, warn: '3:', min: 0 })).toBe("'future'=2;3:;;0");
  });

  it('writes whole numbers as they are and others with at most two decimals', () => {
    expect(formatPerf({ label: 'x', value: 0.4, uom: 's' })).toBe("'x'=0.4s");
    expect(formatPerf({ label: 'x', value: 99.456, uom: '%', warn: 95.5 })).toBe("'x'=99.46%;95.5");
    expect(formatPerf({ label: 'x', value: 3145728, uom: 'B' })).toBe("'x'=3145728B");
  });

  it('quotes labels so that no name breaks the perfdata', () => {
    expect(perfLabel('app backup_age')).toBe("'app backup_age'");
    expect(perfLabel("it's=odd")).toBe("'it''s_odd'");
    expect(formatPerf({ label: "it's=odd", value: 1.5, uom: 's', warn: 2 })).toBe("'it''s_odd'=1.5s;2");
  });
});

describe('the status line', () => {
  it('reads PGOPS <NAME> <LEVEL> - text | perfdata', () => {
    expect(statusLine('WAL', 1, '11 WAL files wait', [{ label: 'ready', value: 11, warn: 10, crit: 100, min: 0 }])).toBe("PGOPS WAL WARNING - 11 WAL files wait | 'ready'=11;10;100;0");
    expect(statusLine('HEALTH', 3, 'cannot connect')).toBe('PGOPS HEALTH UNKNOWN - cannot connect');
    expect(statusLine('VERIFY', 0, 'all match', [])).toBe('PGOPS VERIFY OK - all match');
    expect(statusLine('STATUS', 2, 'no complete backup')).toBe('PGOPS STATUS CRITICAL - no complete backup');
  });

  it('keeps the text on one line and free of the | that starts the perfdata', () => {
    expect(statusLine('HEALTH', 1, 'a | b\nc', [])).toBe('PGOPS HEALTH WARNING - a / b c');
    expect(statusLine('WAL', 3, 'connect failed:\n  server closed the connection', [])).toBe('PGOPS WAL UNKNOWN - connect failed: server closed the connection');
  });
});
