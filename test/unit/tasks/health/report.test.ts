import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../../../../lib/tasks/health/evaluate.ts';
import type { HealthFacts } from '../../../../lib/tasks/health/facts.ts';
import { cell, healthMarkdown } from '../../../../lib/tasks/health/report.ts';

const facts = (over: Partial<HealthFacts> = {}): HealthFacts => ({ database: 'app', version: '15.8', inRecovery: false, statsReset: null, errors: {}, ...over });
const connections: CheckResult = {
  name: 'connections',
  title: 'Connections',
  level: 0,
  message: 'connections 10 of max_connections 100 (10%): 7 idle, 3 active',
  perf: [],
  table: { header: ['state', 'sessions'], rows: [['idle', '7'], ['active', '3']] },
};
const locks: CheckResult = { name: 'lock_waits', title: 'Blocked and blocking sessions', level: 3, message: 'Blocked and blocking sessions: could not be read: permission denied', perf: [], note: 'a | note' };

describe('health report', () => {
  it('starts with the overall level and a table of every check, then one section per check', () => {
    const md = healthMarkdown(facts(), [connections, locks], 3, new Date('2026-12-15T00:00:00Z'));
    expect(md.split('\n').slice(0, 9)).toEqual([
      '# PostgreSQL health: UNKNOWN',
      '',
      'Database `app` on PostgreSQL 15.8, 2026-12-15T00:00:00.000Z. Statistics since the server started (never reset).',
      '',
      '| check | status | finding |',
      '|---|---|---|',
      '| Connections | OK | connections 10 of max_connections 100 (10%): 7 idle, 3 active |',
      '| Blocked and blocking sessions | UNKNOWN | Blocked and blocking sessions: could not be read: permission denied |',
      '',
    ]);
    expect(md).toContain('## Connections: OK\n\nconnections 10 of max_connections 100 (10%): 7 idle, 3 active\n\n| state | sessions |\n|---|---|\n| idle | 7 |\n| active | 3 |\n');
    expect(md).toContain('## Blocked and blocking sessions: UNKNOWN\n\nBlocked and blocking sessions: could not be read: permission denied\n\n_a \\| note_\n');
  });

  it('never lets a name break the markdown table', () => {
    expect(cell('a|b\nc `d`')).toBe("a\\|b c 'd'");
    const md = healthMarkdown(facts({ database: 'shop | ü', inRecovery: true }), [connections], 0, new Date('2026-12-15T00:00:00Z'));
    expect(md).toContain('Database `shop \\| ü` on PostgreSQL 15.8 (a standby), 2026-12-15T00:00:00.000Z');
  });
});
