import { ExitCode, messageOf, usageError, type ExitCodeValue } from '../../errors.ts';
import { withMaintenance, type MaintenanceSession } from '../../pg/maintenance-session.ts';
import { oneLine } from '../../plan/one-line.ts';
import { formatTable } from '../../plan/table.ts';
import type { TaskContext, TaskHandler, TaskResult } from '../../task.ts';
import { formatDuration } from '../../units.ts';
import { clientSessions, privileges, selectTargets, terminate, type Rules, type Selection, type Session } from './sessions.ts';

type Outcome = 'terminated' | 'moved-on' | 'not-confirmed' | 'failed' | 'planned';
type Outcomes = Map<number, { outcome: Outcome; error?: string }>;

// pgops idle-cleanup: terminate client sessions idle (or idle in a transaction) longer than the limits.
export const idleCleanup: TaskHandler<'idle-cleanup'> = async (ctx) => {
  const o = ctx.options;
  const rules: Rules = {
    idleMs: o.idle,
    idleInTransactionMs: o.idleInTransaction,
    includeSuperusers: o.includeSuperusers,
    excludeUsers: o.excludeUser ?? [],
    excludeApps: o.excludeApp ?? [],
    excludeDbs: o.excludeDb ?? [],
    max: o.max,
  };
  if (rules.idleMs === undefined && rules.idleInTransactionMs === undefined) {
    throw usageError('idle-cleanup needs a limit', 'give --idle DURATION, --idle-in-transaction DURATION or both, e.g. --idle-in-transaction 10m');
  }
  return withMaintenance(ctx, 'idle-cleanup', (s) => cleanUpSessions(ctx, s, rules));
};

// Selects the sessions over the limits, terminates them with --execute, and reports.
async function cleanUpSessions(ctx: TaskContext<'idle-cleanup'>, s: MaintenanceSession, rules: Rules): Promise<TaskResult> {
  const can = await privileges(s.client);
  const sessions = await clientSessions(s.client);
  const hidden = sessions.filter((x) => x.state === null).length;
  if (hidden) ctx.log.warn('hidden', `${hidden} session(s) of other roles show no state to ${s.facts.user} and are left alone`, { hint: 'grant pg_read_all_stats to the role that runs idle-cleanup' });
  if (!can.signalBackend) ctx.log.warn('privileges', `${s.facts.user} may terminate only its own role's sessions`, { hint: 'grant pg_signal_backend to the role that runs idle-cleanup' });
  const sel = selectTargets(sessions, rules);
  const limits = [rules.idleMs !== undefined ? `idle over ${formatDuration(rules.idleMs)}` : '', rules.idleInTransactionMs !== undefined ? `idle in transaction over ${formatDuration(rules.idleInTransactionMs)}` : ''].filter(Boolean).join(', ');
  // every target is listed before the first is terminated; a dry run prints the list once, in the summary
  const kept = sel.spared.filter((x) => x.always);
  const keptNote = kept.length ? `; kept whatever the options (backups, restores, replication): pid ${kept.map((x) => x.session.pid).join(', ')}` : '';
  if (s.execute) ctx.log.info('plan', `${sel.targets.length} session(s) to terminate (${limits})${keptNote}${sel.targets.length ? `:\n${sessionTable(sel.targets)}` : ''}`);
  const outcomes = await terminateTargets(ctx, s, sel.targets);
  return cleanupResult(s.execute, rules, sel, outcomes, limits, hidden);
}

// Terminates the targets one by one (a dry run only marks them planned); one that fails does not stop the others.
async function terminateTargets(ctx: TaskContext<'idle-cleanup'>, s: MaintenanceSession, targets: Session[]): Promise<Outcomes> {
  const outcomes: Outcomes = new Map();
  for (const t of targets) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (!s.execute) {
      outcomes.set(t.pid, { outcome: 'planned' });
      continue;
    }
    ctx.log.info('terminate', `terminating pid ${t.pid} (${t.user}@${t.database}, ${t.state} for ${formatDuration(t.idleMs)})`, { pid: t.pid });
    try {
      outcomes.set(t.pid, { outcome: await terminate(s.client, t, s.facts.major) });
    } catch (err) {
      outcomes.set(t.pid, { outcome: 'failed', error: messageOf(err) });
      ctx.log.error('terminate', `could not terminate pid ${t.pid}: ${messageOf(err)}`);
    }
  }
  return outcomes;
}

// The run's result: exit 2 when a termination failed or was not confirmed, 1 when sessions were left for the next run.
function cleanupResult(execute: boolean, rules: Rules, sel: Selection, outcomes: Outcomes, limits: string, hidden: number): TaskResult {
  const count = (x: Outcome) => [...outcomes.values()].filter((v) => v.outcome === x).length;
  const failed = count('failed') + count('not-confirmed');
  const exitCode: ExitCodeValue = failed ? ExitCode.FAILED : sel.deferred.length ? ExitCode.WARNING : ExitCode.OK;
  const lines = [
    execute ? `idle-cleanup (${limits})` : `idle-cleanup: dry run, nothing was terminated (add --execute to terminate) (${limits})`,
    sel.targets.length ? sessionTable(sel.targets, execute ? outcomes : undefined) : 'no session to terminate',
    ...sel.spared.map((x) => `${x.always ? 'kept' : 'left alone'}: pid ${x.session.pid} ${x.session.user}@${x.session.database} (${x.session.application ? `"${x.session.application}", ` : ''}${x.session.state} for ${formatDuration(x.session.idleMs)}): ${x.reason}`),
    ...(sel.deferred.length ? [`${sel.deferred.length} more session(s) over the limits are left for the next run (--max ${rules.max}): pids ${sel.deferred.map((d) => d.pid).join(', ')}`] : []),
    execute
      ? `${count('terminated')} terminated, ${count('moved-on')} had moved on, ${failed} failed`
      : `${sel.targets.length} session(s) would be terminated`,
  ];
  return {
    exitCode,
    summary: lines.join('\n'),
    data: {
      execute,
      rules,
      targets: sel.targets.map((t) => ({ ...publicSession(t), outcome: outcomes.get(t.pid)?.outcome, error: outcomes.get(t.pid)?.error })),
      spared: sel.spared.map((x) => ({ ...publicSession(x.session), reason: x.reason, always: x.always })),
      deferred: sel.deferred.map(publicSession),
      hiddenSessions: hidden,
    },
  };
}

// A session as --json shows it.
function publicSession(s: Session) {
  return { pid: s.pid, user: s.user, database: s.database, application: s.application, backendType: s.backendType, clientAddr: s.clientAddr, state: s.state, idleMs: s.idleMs, query: oneLine(s.query, 200) };
}

// The plan or summary table of the sessions to terminate, with their outcome once done.
function sessionTable(sessions: Session[], outcomes?: Map<number, { outcome: Outcome }>): string {
  const rows = sessions.map((t) => [
    ...(outcomes ? [outcomes.get(t.pid)?.outcome ?? ''] : []),
    String(t.pid),
    t.user ?? '-',
    t.database ?? '-',
    t.application || '-',
    t.clientAddr ?? 'local',
    t.state ?? '-',
    formatDuration(t.idleMs),
    oneLine(t.query, 60),
  ]);
  return formatTable([...(outcomes ? ['OUTCOME'] : []), 'PID', 'USER', 'DATABASE', 'APPLICATION', 'CLIENT', 'STATE', 'IDLE FOR', 'LAST QUERY'], rows);
}
