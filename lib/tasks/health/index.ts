import fs from 'node:fs';
import { LEVEL_NAMES } from '../../check/level.ts';
import { CHECK_TIMEOUT_MS, checkWithin } from '../../check/deadline.ts';
import { checkResult } from '../../check/result.ts';
import { endSessionOnAbort } from '../../check/end-session.ts';
import { withMaintenance } from '../../pg/maintenance-session.ts';
import type { TaskContext, TaskHandler } from '../../task.ts';
import { evaluateHealth, healthLine, type HealthThresholds } from './evaluate.ts';
import { readHealthFacts } from './facts.ts';
import { healthMarkdown } from './report.ts';

// The thresholds from the options.
export function thresholdsOf(o: TaskContext<'health'>['options']): HealthThresholds {
  return {
    connectionsPct: { warn: o.connectionsWarning, crit: o.connectionsCritical },
    cacheHitPct: { warn: o.cacheHitWarning, crit: o.cacheHitCritical },
    transactionMs: { warn: o.transactionAgeWarning, crit: o.transactionAgeCritical },
    idleInTransactionMs: { warn: o.idleInTransactionWarning, crit: o.idleInTransactionCritical },
    lockWaitMs: { warn: o.lockWaitWarning, crit: o.lockWaitCritical },
    slowStatementMs: { warn: o.slowStatementWarning, crit: o.slowStatementCritical },
    databaseBytes: { warn: o.databaseSizeWarning, crit: o.databaseSizeCritical },
    deadTuplesPct: { warn: o.deadTuplesWarning, crit: o.deadTuplesCritical },
    xidAgePct: { warn: o.xidAgeWarning, crit: o.xidAgeCritical },
  };
}

// pgops health: the monitoring queries of the production guide, graded, as a Nagios check; read-only, so it also
// runs on a standby and needs no --execute.
export const health: TaskHandler<'health'> = async (ctx) => {
  const o = ctx.options;
  const report = o.report;
  return checkWithin('HEALTH', ctx, o.timeout ?? CHECK_TIMEOUT_MS, (deadline) =>
    withMaintenance(
      ctx,
      'health',
      // at the timeout the session is ended from a second connection: closing ours would leave its query running
      (s) => endSessionOnAbort(s.info, s.client, deadline.signal, ctx.log, async () => {
        const facts = await readHealthFacts(s.client, s.facts, { top: o.top, unusedIndexMinSize: o.unusedIndexMinSize, deadTuplesMin: o.deadTuplesMin });
        deadline.signal.throwIfAborted();
        const t = thresholdsOf(o);
        const checks = evaluateHealth(facts, t);
        const { level, line, runbook } = healthLine(checks);
        const markdown = healthMarkdown(facts, checks, level, ctx.now());
        if (report && report !== '-') {
          fs.writeFileSync(report, markdown);
          ctx.log.info('report', `markdown report written to ${report}`);
        }
        const lines = [line, ...checks.map((c) => `[${LEVEL_NAMES[c.level]}] ${c.message}`)];
        const data = { database: facts.database, inRecovery: facts.inRecovery, statsReset: facts.statsReset, thresholds: t, checks, facts };
        return checkResult(level, line, data, { summary: report === '-' ? markdown.trimEnd() : lines.join('\n'), runbook });
      }),
      { readOnly: true },
    ), { checks: [] });
};
