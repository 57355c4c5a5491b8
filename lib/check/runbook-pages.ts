// The one table from what each check finds to the runbook page that handles it: a check that is WARNING or CRITICAL
// names the page of its worst findings, `runbook: runbooks/<page>.md` after its status line and `runbook` in --json.
import type { HealthCheckName } from '../tasks/health/evaluate.ts';
import type { PartitionsFindingKind } from '../tasks/partitions/check-evaluate.ts';
import type { StatusFindingKind } from '../tasks/status/evaluate.ts';
import type { FindingKind as VerifyFindingKind } from '../tasks/verify/grade.ts';
import type { WalFindingKind } from '../tasks/wal/check/evaluate.ts';
import { worstLevel, type Level } from './level.ts';

/** a page under runbooks/; with the anchor of its step when the page is a task's and not read from the top */
export type RunbookPage = `runbooks/${string}.md` | `runbooks/${string}.md#${string}`;

// The kinds of finding of each check, as the check's own grading module declares them.
interface CheckFindings {
  status: StatusFindingKind;
  health: HealthCheckName;
  'wal-check': WalFindingKind;
  'partitions-check': PartitionsFindingKind;
  verify: VerifyFindingKind;
}
export type CheckName = keyof CheckFindings;

const HEALTH_LIMITS = 'runbooks/health.md#2-the-checks-their-limits-and-what-to-do';
const VERIFY_SET = 'runbooks/verify.md#4-a-damaged-or-missing-file-of-a-backup-set';
const VERIFY_LEFTOVER = 'runbooks/verify.md#5-leftovers-warning';
const WAL_SETUP = 'runbooks/wal-archiving.md#1-set-up-archive_command';
const WAL_CHECK = 'runbooks/wal-archiving.md#2-check-it-pgops-wal-check';
const WAL_FINDING = 'runbooks/wal-archiving.md#3-what-each-finding-means';
const WAL_FAILING = 'runbooks/wal-archiving-failing.md';

// Every kind of every check has a page: a kind added without one does not compile, and
// test/unit/check/runbook-pages.test.ts fails while a page or its #anchor does not exist. Kinds that are only ever
// OK or UNKNOWN are never printed (the rules of runbookPages below); their page is the check's own all the same.
export const RUNBOOK_PAGES: { readonly [C in CheckName]: Readonly<Record<CheckFindings[C], RunbookPage>> } = {
  status: {
    'backup-missing': 'runbooks/backup-failed.md',
    'backup-age': 'runbooks/backup-failed.md',
    'backup-damaged': VERIFY_SET,
    'drill-missing': 'runbooks/drill-failed.md',
    'drill-age': 'runbooks/drill-failed.md',
    'drill-failed': 'runbooks/drill-failed.md',
    'basebackup-missing': 'runbooks/basebackup.md',
    'basebackup-age': 'runbooks/basebackup.md',
    'basebackup-damaged': 'runbooks/pitr-drill-failed.md#a-damaged-base-backup',
    'pitr-drill-missing': 'runbooks/pitr-drill-failed.md',
    'pitr-drill-age': 'runbooks/pitr-drill-failed.md',
    'pitr-drill-failed': 'runbooks/pitr-drill-failed.md',
  },
  health: {
    connections: 'runbooks/connections-exhausted.md',
    cache_hit: HEALTH_LIMITS,
    longest_transaction: HEALTH_LIMITS,
    idle_in_transaction: 'runbooks/idle-cleanup.md',
    lock_waits: HEALTH_LIMITS,
    statements: HEALTH_LIMITS,
    unused_indexes: HEALTH_LIMITS,
    sizes: HEALTH_LIMITS,
    dead_tuples: 'runbooks/index-bloat.md#4-dead-rows-in-tables',
    wraparound: HEALTH_LIMITS,
  },
  'wal-check': {
    'wal-level': WAL_SETUP,
    'archive-mode': WAL_SETUP,
    'archive-command': WAL_SETUP,
    standby: WAL_FINDING,
    failing: WAL_FAILING,
    'archive-age': WAL_FAILING,
    ready: WAL_FAILING,
    'pg-wal-size': WAL_FAILING,
    switch: WAL_FAILING,
    history: WAL_FINDING,
    empty: WAL_SETUP,
    gap: 'runbooks/wal-archiving.md#5-a-gap-in-the-archive',
    continuous: WAL_CHECK,
    'segment-size': WAL_FINDING,
    repository: 'runbooks/repository.md',
    skipped: WAL_CHECK,
  },
  'partitions-check': {
    'current-missing': 'runbooks/partition-missing.md',
    'future-missing': 'runbooks/partition-missing.md',
    covered: 'runbooks/partitions.md#4-check-what-a-monitor-polls',
    unreadable: 'runbooks/partitions.md#troubleshooting-by-exit-code',
  },
  verify: {
    damaged: VERIFY_SET,
    missing: VERIFY_SET,
    manifest: VERIFY_SET,
    wal: 'runbooks/verify.md#3-a-damaged-or-missing-wal-file-or-a-gap',
    incomplete: 'runbooks/backup-failed.md',
    orphan: VERIFY_LEFTOVER,
    temp: VERIFY_LEFTOVER,
    unlisted: 'runbooks/verify.md#2-what-each-finding-means',
    unreadable: 'runbooks/verify.md#troubleshooting-by-exit-code',
    repository: 'runbooks/repository.md#troubleshooting-by-exit-code',
    ok: 'runbooks/verify.md',
  },
};

// The pages a check's result names: those of its worst findings, each once, in the order given (the status line's,
// worst first), when the worst is WARNING or CRITICAL. None when it is OK, and none when it is UNKNOWN: the check
// could not look, and the error's HINT says what to fix, not a page about what it might have found.
export function runbookPages<C extends CheckName>(check: C, findings: readonly { level: Level; kind: CheckFindings[C] }[]): RunbookPage[] {
  const level = worstLevel(findings.map((f) => f.level));
  if (level !== 1 && level !== 2) return [];
  const pages: Readonly<Record<CheckFindings[C], RunbookPage>> = RUNBOOK_PAGES[check];
  return [...new Set(findings.filter((f) => f.level === level).map((f) => pages[f.kind]))];
}
