import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const BUILD = new URL('build.sh', import.meta.url).pathname;

export interface RegressionCorpus {
  /** the cache folder build.sh made (or found) */
  dir: string;
  /** its stopped cluster holding the database "regression": start copies of it, never the folder itself */
  data: string;
}

// The cached regression corpus, built first when the cache lacks it; build.sh alone knows where the cache is.
export function regressionCorpus(): RegressionCorpus {
  // progress goes to stderr as it happens (a cold build takes about a minute); the folder is the last stdout line
  const out = execFileSync('bash', [BUILD], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = out.trim().split('\n').pop() ?? '';
  const data = path.join(dir, 'data');
  if (!fs.existsSync(path.join(dir, 'ready')) || !fs.existsSync(path.join(data, 'PG_VERSION'))) {
    throw new Error(`${BUILD} printed "${dir}", which is no ready corpus (no ready marker or no data/PG_VERSION); run it by hand to see why`);
  }
  return { dir, data };
}
