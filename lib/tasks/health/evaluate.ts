import { levelAbove, levelBelow, worstFirst, worstLevel, type Level } from '../../check/level.ts';
import { statusLine, type PerfDatum } from '../../check/output.ts';
import { runbookPages, type RunbookPage } from '../../check/runbook-pages.ts';
import { displayName } from '../../pg/display-name.ts';
import { oneLine } from '../../plan/one-line.ts';
import { formatDuration, formatSize } from '../../units.ts';
import type { HealthFacts, SessionRow } from './facts.ts';

// Warning and critical limits of every check; undefined limits never fire (the check only lists).
export interface HealthThresholds {
  connectionsPct: Limits;
  cacheHitPct: Limits;
  transactionMs: Limits;
  idleInTransactionMs: Limits;
  lockWaitMs: Limits;
  slowStatementMs: Limits;
  databaseBytes: Limits;
  deadTuplesPct: Limits;
  xidAgePct: Limits;
}
export interface Limits {
  warn?: number;
  crit?: number;
}

// The checks, by the name each result carries: each names its runbook page (lib/check/runbook-pages.ts).
export const HEALTH_CHECKS = ['connections', 'cache_hit', 'longest_transaction', 'idle_in_transaction', 'lock_waits', 'statements', 'unused_indexes', 'sizes', 'dead_tuples', 'wraparound'] as const;
export type HealthCheckName = (typeof HEALTH_CHECKS)[number];

// One graded check: its level, a one-line finding, perfdata, and the rows the report shows.
export interface CheckResult {
  name: HealthCheckName;
  title: string;
  level: Level;
  message: string;
  perf: PerfDatum[];
  table?: { header: string[]; rows: string[][] };
  note?: string;
}

// The transaction ID space: wraparound comes at 2^31 XIDs of age.
export const WRAPAROUND = 2 ** 31;

// When the statistics the checks read began: their last reset, or the server's start when never reset.
const statsSince = (f: HealthFacts) => (f.statsReset ? `the statistics reset at ${f.statsReset}` : 'the statistics began (never reset)');
const pct = (n: number) => `${n.toFixed(1).replace(/\.0$/, '')}%`;
const sec = (ms?: number) => (ms === undefined ? undefined : Math.round(ms / 1000));
const who = (s: SessionRow) => `pid ${s.pid} ${s.user ?? '?'}@${s.database ?? '?'}${s.application ? ` (${s.application})` : ''}`;
const sessionTable = (rows: SessionRow[], what: string) => ({
  header: ['pid', 'user', 'database', 'application', 'state', what, 'query'],
  rows: rows.map((s) => [String(s.pid), s.user ?? '', s.database ?? '', s.application, s.state ?? '', formatDuration(s.ms), oneLine(s.query, 100)]),
});

// A check whose facts could not be read: UNKNOWN, with the reason.
function unreadable(name: HealthCheckName, title: string, error: string): CheckResult {
  return { name, title, level: 3, message: `${title}: could not be read: ${error}`, perf: [] };
}

function connections(f: HealthFacts, t: HealthThresholds): CheckResult {
  const c = f.connections!;
  const usedPct = (100 * c.total) / c.max;
  const level = levelAbove(usedPct, t.connectionsPct.warn, t.connectionsPct.crit);
  const abs = (p?: number) => (p === undefined ? undefined : Math.floor((c.max * p) / 100));
  const states = Object.entries(c.byState).sort((a, b) => b[1] - a[1]).map(([s, n]) => `${n} ${s}`).join(', ');
  const limit = level === 2 ? ` (critical over ${t.connectionsPct.crit}%)` : level === 1 ? ` (warning over ${t.connectionsPct.warn}%)` : '';
  return {
    name: 'connections',
    title: 'Connections',
    level,
    message: `connections ${c.total} of max_connections ${c.max} (${pct(usedPct)})${limit}: ${states || 'none'}`,
    perf: [{ label: 'connections', value: c.total, warn: abs(t.connectionsPct.warn), crit: abs(t.connectionsPct.crit), min: 0, max: c.max }],
    table: { header: ['state', 'sessions'], rows: Object.entries(c.byState).map(([s, n]) => [s, String(n)]) },
  };
}

function cacheHit(f: HealthFacts, t: HealthThresholds): CheckResult {
  const { hit, read } = f.cache!;
  if (hit + read === 0) return { name: 'cache_hit', title: 'Cache hit ratio', level: 0, message: 'cache hit ratio: no block reads counted yet', perf: [] };
  const ratio = (100 * hit) / (hit + read);
  const level = levelBelow(ratio, t.cacheHitPct.warn, t.cacheHitPct.crit);
  const limit = level === 2 ? ` (critical under ${t.cacheHitPct.crit}%)` : level === 1 ? ` (warning under ${t.cacheHitPct.warn}%)` : '';
  return {
    name: 'cache_hit',
    title: 'Cache hit ratio',
    level,
    message: `cache hit ratio of ${f.database} ${pct(ratio)}${limit}`,
    perf: [{ label: 'cache_hit', value: Math.round(ratio * 100) / 100, uom: '%', warn: t.cacheHitPct.warn === undefined ? undefined : `${t.cacheHitPct.warn}:`, crit: t.cacheHitPct.crit === undefined ? undefined : `${t.cacheHitPct.crit}:`, min: 0, max: 100 }],
    note: `blocks found in shared buffers ${hit}, read from the OS ${read}, since ${statsSince(f)}`,
  };
}

// The longest of a session list against limits: used for transactions and idle-in-transaction sessions.
function longest(name: HealthCheckName, title: string, label: string, rows: SessionRow[], l: Limits, what: string): CheckResult {
  const worst = rows.reduce<SessionRow | undefined>((w, s) => (!w || s.ms > w.ms ? s : w), undefined);
  const level = worst ? levelAbove(worst.ms, l.warn, l.crit) : 0;
  const limit = level === 2 ? ` (critical over ${formatDuration(l.crit!)})` : level === 1 ? ` (warning over ${formatDuration(l.warn!)})` : '';
  return {
    name,
    title,
    level,
    message: worst ? `${label} ${formatDuration(worst.ms)}${limit}: ${who(worst)}` : `${label}: none`,
    perf: [{ label: name, value: sec(worst?.ms ?? 0)!, uom: 's', warn: sec(l.warn), crit: sec(l.crit), min: 0 }],
    table: rows.length ? sessionTable(rows, what) : undefined,
  };
}

function locks(f: HealthFacts, t: HealthThresholds): CheckResult {
  const { blocked, blocking } = f.locks!;
  const worst = blocked[0];
  const waitMs = blocked.reduce((m, b) => Math.max(m, b.ms), 0);
  const level = blocked.length ? levelAbove(waitMs, t.lockWaitMs.warn, t.lockWaitMs.crit) : 0;
  const limit = level === 2 ? ` (critical over ${formatDuration(t.lockWaitMs.crit!)})` : level === 1 ? ` (warning over ${formatDuration(t.lockWaitMs.warn!)})` : '';
  const rows = [
    ...blocked.map((s) => ['blocked', String(s.pid), s.user ?? '', s.database ?? '', `waits ${formatDuration(s.ms)} for ${(s.blockedBy ?? []).join(', ')}`, oneLine(s.query, 100)]),
    ...blocking.map((s) => ['blocking', String(s.pid), s.user ?? '', s.database ?? '', `${s.state ?? ''}, transaction ${formatDuration(s.ms)}`, oneLine(s.query, 100)]),
  ];
  return {
    name: 'lock_waits',
    title: 'Blocked and blocking sessions',
    level,
    message: blocked.length ? `${blocked.length} session(s) wait for locks, longest ${formatDuration(waitMs)}${limit}: ${who(worst)} blocked by ${(worst.blockedBy ?? []).join(', ')}` : 'no session waits for a lock',
    perf: [
      { label: 'blocked_sessions', value: blocked.length, min: 0 },
      { label: 'lock_wait', value: sec(waitMs)!, uom: 's', warn: sec(t.lockWaitMs.warn), crit: sec(t.lockWaitMs.crit), min: 0 },
    ],
    table: rows.length ? { header: ['role', 'pid', 'user', 'database', 'waiting / holding', 'query'], rows } : undefined,
  };
}

function statements(f: HealthFacts, t: HealthThresholds): CheckResult {
  const s = f.statements!;
  if (!s.available) return { name: 'statements', title: 'Slowest statements', level: 0, message: `slowest statements: ${s.note}`, perf: [] };
  const worst = s.rows[0];
  const level = worst ? levelAbove(worst.meanMs, t.slowStatementMs.warn, t.slowStatementMs.crit) : 0;
  const graded = t.slowStatementMs.warn !== undefined || t.slowStatementMs.crit !== undefined;
  return {
    name: 'statements',
    title: 'Slowest statements (pg_stat_statements, by mean time)',
    level,
    message: worst ? `slowest statement ${worst.meanMs.toFixed(1)} ms mean over ${worst.calls} call(s)${graded ? '' : ' (not graded)'}: ${oneLine(worst.query, 60)}` : 'slowest statements: none recorded',
    perf: worst ? [{ label: 'slowest_statement_mean', value: Math.round(worst.meanMs * 100) / 100, uom: 'ms', warn: t.slowStatementMs.warn, crit: t.slowStatementMs.crit, min: 0 }] : [],
    table: { header: ['mean ms', 'calls', 'total ms', 'rows', 'database', 'query'], rows: s.rows.map((r) => [r.meanMs.toFixed(2), String(r.calls), r.totalMs.toFixed(0), String(r.rows), r.database ?? '', oneLine(r.query, 120)]) },
  };
}

function unusedIndexes(f: HealthFacts): CheckResult {
  const rows = f.unusedIndexes!;
  const total = rows.reduce((n, r) => n + r.size, 0);
  return {
    name: 'unused_indexes',
    title: 'Unused indexes',
    level: 0,
    message: rows.length ? `${rows.length} index(es) never scanned since ${statsSince(f)} (${formatSize(total)})` : 'no unused index above the size limit',
    perf: [{ label: 'unused_indexes', value: rows.length, min: 0 }, { label: 'unused_index_size', value: total, uom: 'B', min: 0 }],
    table: rows.length ? { header: ['index', 'table', 'size', 'definition'], rows: rows.map((r) => [displayName(r.schema, r.index), displayName(r.schema, r.table), formatSize(r.size), oneLine(r.definition, 120)]) } : undefined,
    note: `idx_scan counts the scans on this server since ${statsSince(f)} only: check the standbys before dropping an index; unique, primary-key and constraint indexes are never listed`,
  };
}

function sizes(f: HealthFacts, t: HealthThresholds): CheckResult {
  const dbs = f.databases!;
  const biggest = dbs[0];
  const level = biggest ? levelAbove(biggest.size, t.databaseBytes.warn, t.databaseBytes.crit) : 0;
  const limit = level === 2 ? ` (critical over ${formatSize(t.databaseBytes.crit!)})` : level === 1 ? ` (warning over ${formatSize(t.databaseBytes.warn!)})` : '';
  const largest = f.tables?.[0];
  return {
    name: 'sizes',
    title: 'Database and largest table sizes',
    level,
    message: `largest database ${biggest ? `${biggest.name} ${formatSize(biggest.size)}` : '-'}${limit}${largest ? `; largest table ${displayName(largest.schema, largest.name)} ${formatSize(largest.size)}` : ''}`,
    perf: dbs.map((d) => ({ label: `${d.name} size`, value: d.size, uom: 'B' as const, warn: t.databaseBytes.warn, crit: t.databaseBytes.crit, min: 0 })),
    table: { header: ['database or table', 'size'], rows: [...dbs.map((d) => [`database ${d.name}`, formatSize(d.size)]), ...(f.tables ?? []).map((x) => [`table ${displayName(x.schema, x.name)}`, formatSize(x.size)])] },
  };
}

function deadTuples(f: HealthFacts, t: HealthThresholds): CheckResult {
  const rows = f.deadTuples!.map((r) => ({ ...r, ratio: (100 * r.dead) / Math.max(r.live + r.dead, 1) }));
  const worst = rows[0];
  const level = worst ? levelAbove(worst.ratio, t.deadTuplesPct.warn, t.deadTuplesPct.crit) : 0;
  const limit = level === 2 ? ` (critical over ${t.deadTuplesPct.crit}%)` : level === 1 ? ` (warning over ${t.deadTuplesPct.warn}%)` : '';
  return {
    name: 'dead_tuples',
    title: 'Dead tuples',
    level,
    message: worst ? `most dead rows: ${displayName(worst.schema, worst.name)} ${pct(worst.ratio)} dead (${worst.dead} of ${worst.live + worst.dead})${limit}` : 'no table with enough dead rows to grade',
    perf: [{ label: 'dead_tuples', value: Math.round((worst?.ratio ?? 0) * 100) / 100, uom: '%', warn: t.deadTuplesPct.warn, crit: t.deadTuplesPct.crit, min: 0, max: 100 }],
    table: rows.length ? { header: ['table', 'dead', 'live', 'dead %', 'last autovacuum'], rows: rows.map((r) => [displayName(r.schema, r.name), String(r.dead), String(r.live), pct(r.ratio), r.lastAutovacuum ?? 'never']) } : undefined,
  };
}

function wraparound(f: HealthFacts, t: HealthThresholds): CheckResult {
  const rows = f.wraparound!;
  const worst = rows[0];
  const age = worst ? Math.max(worst.xidAge, worst.mxidAge) : 0;
  const agePct = (100 * age) / WRAPAROUND;
  const level = levelAbove(agePct, t.xidAgePct.warn, t.xidAgePct.crit);
  const limit = level === 2 ? ` (critical over ${t.xidAgePct.crit}%)` : level === 1 ? ` (warning over ${t.xidAgePct.warn}%)` : '';
  const abs = (p?: number) => (p === undefined ? undefined : Math.floor((WRAPAROUND * p) / 100));
  return {
    name: 'wraparound',
    title: 'Transaction ID wraparound',
    level,
    message: worst ? `oldest XID age ${worst.database} ${age} (${pct(agePct)} of wraparound)${limit}` : 'XID age: no database',
    perf: [{ label: 'xid_age', value: age, warn: abs(t.xidAgePct.warn), crit: abs(t.xidAgePct.crit), min: 0, max: WRAPAROUND }],
    table: { header: ['database', 'XID age', 'multixact age'], rows: rows.map((r) => [r.database, String(r.xidAge), String(r.mxidAge)]) },
  };
}

// Grades every section of the facts; a section that could not be read is UNKNOWN.
export function evaluateHealth(f: HealthFacts, t: HealthThresholds): CheckResult[] {
  const checks: [HealthCheckName, string, string[], () => CheckResult][] = [
    ['connections', 'Connections', ['connections'], () => connections(f, t)],
    ['cache_hit', 'Cache hit ratio', ['cache'], () => cacheHit(f, t)],
    ['longest_transaction', 'Longest transactions', ['transactions'], () => longest('longest_transaction', 'Longest transactions', 'longest transaction', f.transactions!, t.transactionMs, 'open for')],
    ['idle_in_transaction', 'Idle in transaction', ['idleInTransaction'], () => longest('idle_in_transaction', 'Idle in transaction', 'longest idle in transaction', f.idleInTransaction!, t.idleInTransactionMs, 'idle for')],
    ['lock_waits', 'Blocked and blocking sessions', ['locks'], () => locks(f, t)],
    ['statements', 'Slowest statements', ['statements'], () => statements(f, t)],
    ['unused_indexes', 'Unused indexes', ['unusedIndexes'], () => unusedIndexes(f)],
    ['sizes', 'Database and largest table sizes', ['sizes'], () => sizes(f, t)],
    ['dead_tuples', 'Dead tuples', ['deadTuples'], () => deadTuples(f, t)],
    ['wraparound', 'Transaction ID wraparound', ['wraparound'], () => wraparound(f, t)],
  ];
  return checks.map(([name, title, sections, run]) => {
    const err = sections.map((s) => f.errors[s]).find(Boolean);
    return err ? unreadable(name, title, err) : run();
  });
}

// The Nagios status line: the findings that are not OK (worst first), or a count of the checks that are; and the
// runbook pages of the worst.
export function healthLine(checks: CheckResult[]): { level: Level; line: string; runbook: RunbookPage[] } {
  const level = worstLevel(checks.map((c) => c.level));
  const bad = worstFirst(checks.filter((c) => c.level !== 0));
  const text = bad.length ? bad.map((c) => c.message).join('; ') : `${checks.length} checks ok`;
  const runbook = runbookPages('health', bad.map((c) => ({ level: c.level, kind: c.name })));
  return { level, line: statusLine('HEALTH', level, text, checks.flatMap((c) => c.perf)), runbook };
}
