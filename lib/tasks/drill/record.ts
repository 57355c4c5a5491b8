import fs from 'node:fs';
import type { DrillReport } from '../../repo/drill-reports.ts';
import { drillKey } from '../../repo/layout.ts';
import { messageOf } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import type { Repo } from '../../repo/repo.ts';
import { renderMarkdown } from './render.ts';

// Stores the drill's report in the repository (never over another) and appends it to the GitHub Actions job summary
// when there is one. A failure to record is a warning: the drill's result and exit code stand as they are.
export async function recordDrill(repo: Repo, r: DrillReport, log: Logger, env: NodeJS.ProcessEnv): Promise<void> {
  try {
    await repo.putBytes(drillKey(r.database, r.drillId), JSON.stringify(r, null, 2) + '\n', { ifAbsent: true });
  } catch (err) {
    log.warn('report', `could not store the drill report: ${messageOf(err)}`);
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
