import { LEVEL_NAMES } from '../../../check/level.ts';
import { CHECK_TIMEOUT_MS, checkWithin, timeoutText } from '../../../check/deadline.ts';
import { checkResult } from '../../../check/result.ts';
import { messageOf, usageError } from '../../../errors.ts';
import type { OptionsOf } from '../../../options.ts';
import { endSessionOnAbort } from '../../../check/end-session.ts';
import { connect, parseDbUrl } from '../../../pg/connection.ts';
import { openRepo } from '../../../repo/open.ts';
import type { Repo } from '../../../repo/repo.ts';
import type { TaskContext, TaskHandler } from '../../../task.ts';
import { parseDuration } from '../../../units.ts';
import type { Window } from '../../../wal/continuity.ts';
import { checkSystemId } from '../system-id.ts';
import { evaluateWal, type RepositorySide, type WalThresholds } from './evaluate.ts';
import { checkRepository } from './repository.ts';
import { readServerFacts, type ServerWalFacts } from './server.ts';
import { switchAndWait, type SwitchResult } from './switch.ts';

// A monitor's query must not hang: every statement of the check gives up after this.
const STATEMENT_TIMEOUT = '30s';

// Parses --wal-window: all, backup, or a duration (24h, 7d).
export function parseWindow(text: string): Window {
  if (text === 'all' || text === 'backup') return { mode: text };
  try {
    return { mode: 'since', ms: parseDuration(text, '--wal-window') };
  } catch {
    throw usageError(`invalid --wal-window "${text}": expected all, backup or a duration like 24h`, 'backup checks from the start of the oldest complete base backup (else the oldest base backup label in the archive), all from the oldest segment, 24h from the oldest segment archived in the last 24 hours');
  }
}

// The thresholds from the options; pg_wal's default is derived from max_wal_size and wal_keep_size.
type ThresholdOptions = Pick<OptionsOf<'wal-check'>, 'maxArchiveAge' | 'criticalArchiveAge' | 'maxReady' | 'criticalReady' | 'maxPgWalSize' | 'criticalPgWalSize'>;
function thresholds(o: ThresholdOptions, s: ServerWalFacts): WalThresholds {
  const pgWalWarn = o.maxPgWalSize ?? 2 * s.maxWalSize + s.walKeepSize;
  return {
    ageWarnMs: o.maxArchiveAge,
    ageCritMs: o.criticalArchiveAge ?? 2 * o.maxArchiveAge,
    readyWarn: o.maxReady,
    readyCrit: o.criticalReady ?? 10 * o.maxReady,
    pgWalWarn,
    pgWalCrit: o.criticalPgWalSize ?? 2 * pgWalWarn,
  };
}

// archive_command may carry credentials in environment assignments (AWS_SECRET_ACCESS_KEY=...): never print them.
export function maskSecrets(command: string | null): string | null {
  return command === null ? null : command.replace(/\b([A-Z0-9_]*(?:SECRET|PASSWORD|TOKEN|KEY)[A-Z0-9_]*=)('[^']*'|"[^"]*"|\S+)/gi, '$1***');
}

/** what --switch leaves of the check's timeout, to read the archiver again and report */
const AFTER_SWITCH_MS = 10_000;

// How long --switch waits: --switch-timeout, but never so long that the check's own --timeout ends it first (a
// segment that did not arrive is CRITICAL; a check that timed out only UNKNOWN).
export function switchWait(switchTimeoutMs: number, remainingMs: number, ctx: Pick<TaskContext, 'log'>): number {
  const room = Math.max(1000, remainingMs - AFTER_SWITCH_MS);
  if (switchTimeoutMs <= room) return switchTimeoutMs;
  ctx.log.debug('switch', `--switch waits ${timeoutText(room)} rather than --switch-timeout ${timeoutText(switchTimeoutMs)}, to report before --timeout`);
  return room;
}

// pgops wal check: a Nagios-style check of WAL archiving from the server's side and, with --repo, the repository's.
export const walCheck: TaskHandler<'wal-check'> = async (ctx) => {
  const o = ctx.options;
  return checkWithin('WAL', ctx, o.timeout ?? CHECK_TIMEOUT_MS, async (deadline) => {
    const window = parseWindow(o.walWindow);
    const info = parseDbUrl(o.db, ctx.env);
    const client = await connect(info, 'pgops wal check');
    let repo: Repo | undefined;
    try {
      // at the timeout the session is ended from a second connection: closing ours would leave its query running
      return await endSessionOnAbort(info, client, deadline.signal, ctx.log, async () => {
        await client.query(`SET statement_timeout = '${STATEMENT_TIMEOUT}'`);
        let server = await readServerFacts(client);
        const systemId = o.systemId !== undefined ? checkSystemId(o.systemId) : server.systemIdentifier;
        if (o.systemId !== undefined && server.systemIdentifier && server.systemIdentifier !== systemId) {
          throw usageError(`--system-id ${o.systemId} is not this server's system identifier ${server.systemIdentifier}`, 'drop --system-id: the server says which system it is');
        }
        let repoSide: RepositorySide | undefined;
        let switched: SwitchResult | undefined;
        const switchTimeoutMs = switchWait(o.switchTimeout, deadline.remainingMs(), ctx);
        if (o.repo !== undefined) {
          try {
            repo = await openRepo(o.repo, o, ctx.log);
          } catch (err) {
            // the repository side could not be checked (its pgops-repo.json is read first): the server side still is
            if (deadline.signal.aborted) throw err;
            repoSide = { error: messageOf(err) };
          }
          if (repoSide) {
            // the error is the repository side's finding
          } else if (!systemId) repoSide = { skipped: 'the system identifier is unknown (pass --system-id)' };
          else if (server.inRecovery && server.archiveMode !== 'always') repoSide = { skipped: 'a standby with archive_mode = on does not archive' };
        } else if (o.switch) {
          throw usageError('--switch needs --repo', 'it proves that a switched segment reaches the repository, so it must know the repository');
        }
        if (repo && systemId && !repoSide) {
          if (o.switch) {
            switched = server.inRecovery ? { skipped: 'a standby cannot switch WAL' } : await switchAndWait(client, repo, systemId, switchTimeoutMs, deadline.signal);
            // the switch moved the archiver along: read its statistics again
            server = await readServerFacts(client);
          }
          try {
            const facts = await checkRepository(repo, { systemId, timeline: server.timeline, segmentSize: server.walSegmentSize, lastArchived: server.archiver.lastArchivedWal, window, now: server.now });
            repoSide = { facts };
          } catch (err) {
            if (deadline.signal.aborted) throw err;
            repoSide = { error: messageOf(err) };
          }
        } else if (o.switch && repoSide && 'skipped' in repoSide) {
          switched = { skipped: repoSide.skipped };
        }
        const t = thresholds(o, server);
        const out = evaluateWal(server, repoSide, switched, t, switchTimeoutMs);
        return checkResult(out.level, out.line, {
          findings: out.findings.map((f) => ({ level: LEVEL_NAMES[f.level], kind: f.kind, text: f.text })),
          skipped: out.skipped,
          pending: out.pending,
          thresholds: t,
          server: { ...server, archiveCommand: maskSecrets(server.archiveCommand), now: server.now.toISOString() },
          repository: repoSide && 'facts' in repoSide ? { ...repoSide.facts, chain: repoSide.facts.chain.map((c) => ({ timeline: c.timeline, begin: c.begin.toString(), end: c.end?.toString() })) } : (repoSide ?? null),
          switch: switched ?? null,
        }, { runbook: out.runbook });
      });
    } finally {
      await client.end().catch(() => {});
      await repo?.close();
    }
  });
};
