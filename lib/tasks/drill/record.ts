import fs from 'node:fs';
import type { DrillReport } from '../../repo/drill-reports.ts';
import { backupIdFor, backupIdTime, drillKey } from '../../repo/layout.ts';
import { messageOf } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { AlreadyExistsError, type Repo } from '../../repo/repo.ts';
import { renderMarkdown } from './render.ts';

// how many seconds later a drill's id may move when drills of one database started in the same second
const ID_TRIES = 60;

// Stores the drill's report in the repository (never over another) and appends it to the GitHub Actions job summary
// when there is one. Two drills of one database that started in the same second would share an id: the later one
// takes the next free second (its report says so by its id), as backups do. A failure to record is a warning: the
// drill's result and exit code stand as they are.
export async function recordDrill(repo: Repo, r: DrillReport, log: Logger, env: NodeJS.ProcessEnv): Promise<void> {
  const first = r.drillId;
  for (let i = 0; ; i++) {
    try {
      await repo.putBytes(drillKey(r.database, r.drillId), JSON.stringify(r, null, 2) + '\n', { ifAbsent: true });
      if (r.drillId !== first) log.info('report', `drill ${first} already has a report: this one is stored as drill ${r.drillId}`);
      break;
    } catch (err) {
      const at = backupIdTime(r.drillId);
      if (err instanceof AlreadyExistsError && at && i < ID_TRIES) {
        r.drillId = backupIdFor(new Date(at.getTime() + 1000));
        continue;
      }
      log.warn('report', `could not store the drill report: ${messageOf(err)}`);
      break;
    }
  }
  appendJobSummary(renderMarkdown(r), env, log);
}

// Appends a drill's markdown to the GitHub Actions job summary when the run has one; a failure is only a warning.
export function appendJobSummary(markdown: string, env: NodeJS.ProcessEnv, log: Logger): void {
  const summaryFile = env.GITHUB_STEP_SUMMARY;
  if (!summaryFile) return;
  try {
    fs.appendFileSync(summaryFile, markdown + '\n');
  } catch (err) {
    log.warn('report', `could not append to GITHUB_STEP_SUMMARY: ${messageOf(err)}`);
  }
}
