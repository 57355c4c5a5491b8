import { describe, expect, it } from 'vitest';
import { selectTargets, type Rules, type Session } from '../../../../lib/tasks/idle-cleanup/sessions.ts';

// Which sessions idle-cleanup picks: backups, restores and replication never, whatever the options.
let pid = 100;
const session = (over: Partial<Session>): Session => ({
  pid: pid++, user: 'app', database: 'shop', application: 'rails', clientAddr: '10.0.0.5', state: 'idle in transaction',
  stateChange: '2026-11-22 03:00:00+00', idleMs: 3_600_000, query: 'SELECT 1', superuser: false, backendType: 'client backend', ...over,
});
// the widest rules there are: every superuser included, nothing excluded, no cap worth the name
const rules: Rules = { idleMs: 0, idleInTransactionMs: 0, includeSuperusers: true, excludeUsers: [], excludeApps: [], excludeDbs: [], max: 1000 };

describe('idle-cleanup keeps what must run', () => {
  it.each([
    ['pgops backup', "a pgops backup's snapshot session: terminating it fails the backup"],
    ['pgops backup fingerprints', "a pgops backup's fingerprint session: terminating it fails the backup"],
    ['pgops', 'a PostgreSQL program run by pgops (pg_dump, pg_dumpall, pg_restore, psql): terminating it fails its task'],
    ['pgops restore', 'a pgops restore session: terminating it fails the restore'],
    ['pgops partitions prune', 'a session of pgops partitions prune: terminating it fails that task'],
    ['pg_dump', 'a pg_dump session: terminating it fails the dump'],
    ['pg_dumpall', 'a pg_dumpall session: terminating it fails the dump'],
    ['pg_restore', 'a pg_restore session: terminating it leaves a half-restored database'],
    ['pg_basebackup', 'a pg_basebackup session: terminating it fails the base backup'],
    ['pg_receivewal', 'a pg_receivewal session: terminating it stops WAL streaming'],
  ])('application "%s", whatever the options', (application, reason) => {
    const s = session({ application, superuser: true });
    const sel = selectTargets([s], rules);
    expect(sel.targets).toEqual([]);
    expect(sel.spared).toEqual([{ session: s, reason, always: true }]);
  });

  it('walsenders and logical replication workers by backend type, whatever their application_name', () => {
    const walsender = session({ backendType: 'walsender', application: 'rails', state: 'idle' });
    const worker = session({ backendType: 'logical replication worker', application: '', state: 'idle' });
    const sel = selectTargets([walsender, worker], rules);
    expect(sel.targets).toEqual([]);
    expect(sel.spared.map((x) => [x.session.pid, x.always, x.reason])).toEqual([
      [walsender.pid, true, 'a replication connection (walsender): terminating it breaks a standby, a base backup or WAL streaming'],
      [worker.pid, true, 'a logical replication worker: terminating it stops the subscription'],
    ]);
  });

  it('names that only resemble ours are ordinary sessions', () => {
    const lookalikes = ['pgopsx', 'PG_DUMP', 'pg_dump2', 'my pgops backup', ''].map((application) => session({ application }));
    const sel = selectTargets(lookalikes, rules);
    expect(sel.targets.map((t) => t.application)).toEqual(['pgopsx', 'PG_DUMP', 'pg_dump2', 'my pgops backup', '']);
    expect(sel.spared).toEqual([]);
  });

  it('does not count kept sessions against --max, and still orders idle in transaction first', () => {
    const backup = session({ application: 'pgops backup', idleMs: 9_000_000 });
    const idle = session({ state: 'idle', idleMs: 8_000_000 });
    const tx = session({ idleMs: 10_000 });
    const sel = selectTargets([backup, idle, tx], { ...rules, max: 1 });
    expect(sel.targets).toEqual([tx]);
    expect(sel.deferred).toEqual([idle]);
    expect(sel.spared.map((x) => x.session)).toEqual([backup]);
  });
});
