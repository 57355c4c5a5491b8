import fs from 'node:fs';
import { PgopsError, messageOf, type ExitCodeValue } from '../../errors.ts';
import { LEVEL_NAMES, statusLine } from '../../maintenance/nagios.ts';
import { withMaintenance } from '../../maintenance/session.ts';
import type { TaskContext, TaskHandler } from '../../task.ts';
import { evaluateHealth, healthLine, type HealthThresholds } from './evaluate.ts';
import { readHealthFacts } from './facts.ts';
import { healthMarkdown } from './report.ts';

// The thresholds from the options.
export function thresholdsOf(o: TaskContext<'health'>['options']): HealthThresholds {
  const n = (k: keyof typeof o) => o[k] as number | undefined;
  return {
    connectionsPct: { warn: n('connectionsWarning'), crit: n('connectionsCritical') },
    cacheHitPct: { warn: n('cacheHitWarning'), crit: n('cacheHitCritical') },
    transactionMs: { warn: n('transactionAgeWarning'), crit: n('transactionAgeCritical') },
    idleInTransactionMs: { warn: n('idleInTransactionWarning'), crit: n('idleInTransactionCritical') },
    lockWaitMs: { warn: n('lockWaitWarning'), crit: n('lockWaitCritical') },
    slowStatementMs: { warn: n('slowStatementWarning'), crit: n('slowStatementCritical') },
    databaseBytes: { warn: n('databaseSizeWarning'), crit: n('databaseSizeCritical') },
    deadTuplesPct: { warn: n('deadTuplesWarning'), crit: n('deadTuplesCritical') },
    xidAgePct: { warn: n('xidAgeWarning'), crit: n('xidAgeCritical') },
  };
}

// pgops health: the monitoring queries of the production guide, graded, as a Nagios check; read-only, so it also
// runs on a standby and needs no --execute.
export const health: TaskHandler<'health'> = async (ctx) => {
  const o = ctx.options;
  const report = o.report as string | undefined;
  try {
    return await withMaintenance(
      ctx,
      'health',
      async (s) => {
        const facts = await readHealthFacts(s.client, s.facts, o.top as number, o.unusedIndexMinSize as number, o.deadTuplesMin as number);
        const t = thresholdsOf(o);
        const checks = evaluateHealth(facts, t);
        const { level, line } = healthLine(checks);
        const markdown = healthMarkdown(facts, checks, level, ctx.now());
        if (report && report !== '-') {
          fs.writeFileSync(report, markdown);
          ctx.log.info('report', `markdown report written to ${report}`);
        }
        const lines = [line, ...checks.map((c) => `[${LEVEL_NAMES[c.level]}] ${c.message}`)];
        return {
          exitCode: level as ExitCodeValue,
          summary: report === '-' ? markdown.trimEnd() : lines.join('\n'),
          data: { status: LEVEL_NAMES[level], exitCode: level, line, database: facts.database, inRecovery: facts.inRecovery, statsReset: facts.statsReset, thresholds: t, checks, facts },
        };
      },
      { readOnly: true },
    );
  } catch (err) {
    // a monitor reads stdout: UNKNOWN must be a status line too
    const line = statusLine('HEALTH', 3, messageOf(err), []);
    ctx.log.error('failed', messageOf(err), { hint: err instanceof PgopsError ? err.hint : undefined });
    return { exitCode: 3, summary: line, data: { status: 'UNKNOWN', exitCode: 3, line, checks: [] } };
  }
};
