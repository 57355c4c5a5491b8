import { describe, expect, it } from 'vitest';
import { RUNBOOK_PAGES, runbookPages, type CheckName } from '../../../lib/check/runbook-pages.ts';
import { HEALTH_CHECKS } from '../../../lib/tasks/health/evaluate.ts';
import { PARTITIONS_FINDINGS } from '../../../lib/tasks/partitions/check-evaluate.ts';
import { STATUS_FINDINGS } from '../../../lib/tasks/status/evaluate.ts';
import { FINDING_KINDS } from '../../../lib/tasks/verify/grade.ts';
import { WAL_FINDINGS } from '../../../lib/tasks/wal/check/evaluate.ts';
import { deadPages } from '../../support/markdown.ts';

// Every alert leads to its page: each kind of finding every check can emit has a runbook page, and the page (and the
// heading its #anchor names) exists.

// The kinds each check emits, as its grading module declares them (the types of the findings come from these lists).
const KINDS: Record<CheckName, readonly string[]> = {
  status: STATUS_FINDINGS,
  health: HEALTH_CHECKS,
  'wal-check': WAL_FINDINGS,
  'partitions-check': PARTITIONS_FINDINGS,
  verify: FINDING_KINDS,
};

// The kinds a table gives no page, and the pages it gives kinds that do not exist.
function coverage(table: Readonly<Record<string, string>>, kinds: readonly string[]): { unpaged: string[]; unknown: string[] } {
  return { unpaged: kinds.filter((k) => !table[k]), unknown: Object.keys(table).filter((k) => !kinds.includes(k)) };
}

describe('the runbook page of every check finding', () => {
  it('lists the kinds of every check the table has', () => {
    expect(Object.keys(RUNBOOK_PAGES).sort()).toEqual(Object.keys(KINDS).sort());
  });

  it.each(Object.keys(KINDS) as CheckName[])('%s: every kind of finding has a page, and the table names no other kind', (check) => {
    expect(coverage(RUNBOOK_PAGES[check], KINDS[check])).toEqual({ unpaged: [], unknown: [] });
  });

  it('names only pages that exist under runbooks/, at headings they have', () => {
    const pages = [...new Set(Object.values(RUNBOOK_PAGES).flatMap((t) => Object.values(t) as string[]))];
    expect(pages.length).toBeGreaterThan(10);
    expect(deadPages(pages)).toEqual([]);
  });

  it('can fail: a kind without a page, a page that does not exist, an anchor that is no heading', () => {
    expect(coverage({ a: 'runbooks/x.md', old: 'runbooks/y.md' }, ['a', 'b'])).toEqual({ unpaged: ['b'], unknown: ['old'] });
    expect(deadPages(['runbooks/no-such-page.md', 'runbooks/verify.md#no-such-step', 'README.md', 'runbooks/verify.md#3-a-damaged-or-missing-wal-file-or-a-gap', 'runbooks/verify.md'])).toEqual([
      'runbooks/no-such-page.md',
      'runbooks/verify.md#no-such-step',
      'README.md',
    ]);
  });
});

describe('runbookPages', () => {
  it('names the page of the worst finding, not of the lesser ones', () => {
    expect(runbookPages('status', [{ level: 1, kind: 'drill-age' }, { level: 2, kind: 'backup-age' }])).toEqual(['runbooks/backup-failed.md']);
  });

  it('names each distinct page of equally bad findings once, in the order given', () => {
    const findings = [{ level: 1, kind: 'backup-damaged' }, { level: 1, kind: 'drill-failed' }, { level: 1, kind: 'drill-age' }] as const;
    expect(runbookPages('status', findings)).toEqual(['runbooks/verify.md#4-a-damaged-or-missing-file-of-a-backup-set', 'runbooks/drill-failed.md']);
  });

  it('names none when the worst is OK or UNKNOWN, and UNKNOWN hides no WARNING', () => {
    expect(runbookPages('partitions-check', [])).toEqual([]);
    expect(runbookPages('partitions-check', [{ level: 0, kind: 'covered' }])).toEqual([]);
    expect(runbookPages('partitions-check', [{ level: 3, kind: 'unreadable' }, { level: 0, kind: 'covered' }])).toEqual([]);
    expect(runbookPages('partitions-check', [{ level: 3, kind: 'unreadable' }, { level: 1, kind: 'future-missing' }])).toEqual(['runbooks/partition-missing.md']);
  });
});
