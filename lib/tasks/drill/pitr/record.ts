import { messageOf } from '../../../errors.ts';
import type { Logger } from '../../../log.ts';
import { putPitrDrillReport, type PitrDrillReport } from '../../../repo/pitr-drill-reports.ts';
import { AlreadyExistsError, type Repo } from '../../../repo/repo.ts';
import { backupIdFor, backupIdTime } from '../../../repo/layout.ts';
import { appendJobSummary } from '../record.ts';
import { renderMarkdown } from './render.ts';

// Stores the report in the repository (drills/@<system>/<drill id>.json, never over another) and appends it to the
// GitHub Actions job summary when there is one. A failure to record is a warning: the result and exit code stand.
// A drill id is the start to the second: one that another drill of the system took (a drill that failed at once,
// then another) moves on a second, which keeps the ids in start order.
export async function recordPitrDrill(repo: Repo, r: PitrDrillReport, log: Logger, env: NodeJS.ProcessEnv): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      await putPitrDrillReport(repo, r);
      break;
    } catch (err) {
      if (err instanceof AlreadyExistsError && tries < 10) {
        r.drillId = backupIdFor(new Date(backupIdTime(r.drillId)!.getTime() + 1000));
        continue;
      }
      log.warn('report', `could not store the drill report: ${messageOf(err)}`);
      break;
    }
  }
  appendJobSummary(renderMarkdown(r), env, log);
}
