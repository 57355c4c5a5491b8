// The on-call scenario pages: each is a drill (runbooks/README.md, "Pages that are drills"). A new scenario page is
// added here; test/unit/runbook-drills.test.ts then holds it to the drill's marks.
export const SCENARIO_PAGES = [
  'backup-failed.md',
  'basebackup.md',
  'before-risky-migration.md',
  'connections-exhausted.md',
  'disaster-recovery.md',
  'drill-failed.md',
  'index-bloat.md',
  'partition-missing.md',
  'pitr-drill-failed.md',
  'point-in-time-recovery.md',
  'restore-database.md',
  'restore-table.md',
  'wal-archiving-failing.md',
] as const;
