import { describe, expect, it } from 'vitest';
import { evaluateHealth, HEALTH_CHECKS, healthLine, WRAPAROUND, type HealthThresholds } from '../../../../lib/tasks/health/evaluate.ts';
import type { HealthFacts } from '../../../../lib/tasks/health/facts.ts';

const thresholds: HealthThresholds = {
  connectionsPct: { warn: 80, crit: 95 },
  cacheHitPct: { warn: 95, crit: 90 },
  transactionMs: { warn: 900_000, crit: 3_600_000 },
  idleInTransactionMs: { warn: 300_000, crit: 1_800_000 },
  lockWaitMs: { warn: 30_000, crit: 300_000 },
  slowStatementMs: {},
  databaseBytes: {},
  deadTuplesPct: { warn: 20, crit: 50 },
  xidAgePct: { warn: 50, crit: 75 },
};

function facts(over: Partial<HealthFacts> = {}): HealthFacts {
  return {
    database: 'app',
    version: '15.8',
    inRecovery: false,
    statsReset: null,
    connections: { max: 100, byState: { active: 3, idle: 7 }, total: 10 },
    cache: { hit: 9900, read: 100 },
    transactions: [],
    idleInTransaction: [],
    locks: { blocked: [], blocking: [] },
    statements: { available: false, note: 'pg_stat_statements is not installed in this database', rows: [] },
    unusedIndexes: [],
    databases: [{ name: 'app', size: 10 * 1024 ** 2 }],
    tables: [],
    deadTuples: [],
    wraparound: [{ database: 'app', xidAge: 1000, mxidAge: 10 }],
    errors: {},
    ...over,
  };
}
const levels = (f: HealthFacts, t = thresholds) => Object.fromEntries(evaluateHealth(f, t).map((c) => [c.name, c.level]));

describe('health grading', () => {
  it('grades a quiet server OK with every check', () => {
    const checks = evaluateHealth(facts(), thresholds);
    expect(checks.map((c) => c.name)).toEqual(['connections', 'cache_hit', 'longest_transaction', 'idle_in_transaction', 'lock_waits', 'statements', 'unused_indexes', 'sizes', 'dead_tuples', 'wraparound']);
    expect(healthLine(checks).runbook).toEqual([]);
    expect(checks.every((c) => c.level === 0)).toBe(true);
    expect(healthLine(checks).line).toMatch(/^PGOPS HEALTH OK - 10 checks ok \| 'connections'=10;80;95;0;100 'cache_hit'=99%;95:;90:;0;100 /);
  });

  it('flips each check at its thresholds', () => {
    expect(levels(facts({ connections: { max: 100, byState: { idle: 81 }, total: 81 } })).connections).toBe(1);
    expect(levels(facts({ connections: { max: 100, byState: { idle: 96 }, total: 96 } })).connections).toBe(2);
    expect(levels(facts({ cache: { hit: 94, read: 6 } })).cache_hit).toBe(1);
    expect(levels(facts({ cache: { hit: 0, read: 0 } })).cache_hit).toBe(0);
    const session = { pid: 7, user: 'app', database: 'app', application: 'web', state: 'idle in transaction', query: 'UPDATE t SET x = 1' };
    expect(levels(facts({ idleInTransaction: [{ ...session, ms: 301_000 }] })).idle_in_transaction).toBe(1);
    expect(levels(facts({ transactions: [{ ...session, ms: 3_600_001 }] })).longest_transaction).toBe(2);
    expect(levels(facts({ locks: { blocked: [{ ...session, state: 'active', ms: 31_000, blockedBy: [9] }], blocking: [] } })).lock_waits).toBe(1);
    expect(levels(facts({ deadTuples: [{ schema: 'public', name: 't', live: 40, dead: 60, lastAutovacuum: null }] })).dead_tuples).toBe(2);
    expect(levels(facts({ wraparound: [{ database: 'app', xidAge: 100, mxidAge: Math.ceil(WRAPAROUND * 0.51) }] })).wraparound).toBe(1);
    // listed, not graded, until a limit is given
    const big = facts({ databases: [{ name: 'app', size: 2 * 1024 ** 3 }] });
    expect(levels(big).sizes).toBe(0);
    expect(levels(big, { ...thresholds, databaseBytes: { warn: 1024 ** 3 } }).sizes).toBe(1);
  });

  it('reports a section it could not read as UNKNOWN, without hiding a CRITICAL one', () => {
    const f = facts({ errors: { locks: 'permission denied for function pg_blocking_pids' }, connections: { max: 10, byState: { idle: 10 }, total: 10 } });
    const checks = evaluateHealth(f, thresholds);
    expect(checks.find((c) => c.name === 'lock_waits')).toMatchObject({ level: 3, message: 'Blocked and blocking sessions: could not be read: permission denied for function pg_blocking_pids' });
    const { level, line } = healthLine(checks);
    expect(level).toBe(2);
    expect(line).toMatch(/^PGOPS HEALTH CRITICAL - connections 10 of max_connections 10 \(100%\) \(critical over 95%\): 10 idle; Blocked and blocking sessions: could not be read/);
  });

  it('lets a WARNING win beside an UNKNOWN, naming the warning first', () => {
    const f = facts({ errors: { locks: 'permission denied for function pg_blocking_pids' }, connections: { max: 100, byState: { idle: 81 }, total: 81 } });
    const { level, line } = healthLine(evaluateHealth(f, thresholds));
    expect(level).toBe(1);
    expect(line).toMatch(/^PGOPS HEALTH WARNING - connections 81 of max_connections 100 \(81%\) \(warning over 80%\): 81 idle; Blocked and blocking sessions: could not be read: permission denied/);
  });

  it('names a section it could not read by the name its graded result has', () => {
    const sections = ['connections', 'cache', 'transactions', 'idleInTransaction', 'locks', 'statements', 'unusedIndexes', 'sizes', 'deadTuples', 'wraparound'];
    const checks = evaluateHealth(facts({ errors: Object.fromEntries(sections.map((s) => [s, 'permission denied'])) }), thresholds);
    expect(checks.map((c) => [c.name, c.level])).toEqual(HEALTH_CHECKS.map((name) => [name, 3]));
  });

  it('names the runbook page of the worst checks: each distinct page once, none for UNKNOWN', () => {
    const session = { pid: 7, user: 'app', database: 'app', application: 'web', state: 'idle in transaction', query: 'UPDATE t SET x = 1' };
    const idle = facts({ idleInTransaction: [{ ...session, ms: 301_000 }], connections: { max: 100, byState: { idle: 81 }, total: 81 } });
    expect(healthLine(evaluateHealth(idle, thresholds)).runbook).toEqual(['runbooks/connections-exhausted.md', 'runbooks/idle-cleanup.md']);
    const dead = facts({ idleInTransaction: [{ ...session, ms: 301_000 }], deadTuples: [{ schema: 'public', name: 't', live: 40, dead: 60, lastAutovacuum: null }] });
    expect(healthLine(evaluateHealth(dead, thresholds)).runbook).toEqual(['runbooks/index-bloat.md#4-dead-rows-in-tables']);
    const locked = facts({ errors: { cache: 'timeout' }, locks: { blocked: [{ ...session, state: 'active', ms: 31_000, blockedBy: [9] }], blocking: [] } });
    expect(healthLine(evaluateHealth(locked, thresholds)).runbook).toEqual(['runbooks/health.md#2-the-checks-their-limits-and-what-to-do']);
    expect(healthLine(evaluateHealth(facts({ errors: { cache: 'timeout' } }), thresholds)).runbook).toEqual([]);
  });

  it('is UNKNOWN when a section could not be read and nothing else is wrong', () => {
    const { level, line } = healthLine(evaluateHealth(facts({ errors: { cache: 'canceling statement due to statement timeout' } }), thresholds));
    expect(level).toBe(3);
    expect(line).toMatch(/^PGOPS HEALTH UNKNOWN - Cache hit ratio: could not be read: canceling statement due to statement timeout \| /);
  });
});
