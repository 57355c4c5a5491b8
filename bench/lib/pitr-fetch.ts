import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BIN } from '../../test/support/cli.ts';
import { measure, type Command } from './measure.ts';
import { asServerUser, type PgBackRest } from './pitr-pgbackrest.ts';
import type { PitrReport, PitrSample } from './pitr-report.ts';
import { median } from './stats.ts';

// What replay pays per WAL segment: each tool's restore_command timed on its own, and the estimate of what it cost
// each recovery.

const FETCH_LABELS = { pgops: 'pgops wal fetch (node bin/pgops.js, as restore_command runs it)', pgbackrest: 'pgbackrest archive-get' };
const SEGMENT_BYTES = 16 * 1024 * 1024;
const TIMES = 11;

// The WAL files a recovered server's log says restore_command restored.
export function restoredCount(logFile: string): number {
  return fs.existsSync(logFile) ? (fs.readFileSync(logFile, 'utf8').match(/restored log file "/g) ?? []).length : Number.NaN;
}

// What restore_command cost each replay: the WAL files it restored times one fetch's median, as the part "fetches".
export function estimateFetches(samples: PitrSample[], fetch: PitrReport['fetch']): void {
  const per: Record<string, number | undefined> = {
    recover: fetch.find((f) => f.label === FETCH_LABELS.pgops)?.medianMs,
    'pgbackrest-restore': fetch.find((f) => f.label === FETCH_LABELS.pgbackrest)?.medianMs,
  };
  for (const s of samples) {
    const ms = per[s.op];
    if (ms !== undefined && s.restored !== undefined && !Number.isNaN(s.restored)) s.parts = { ...s.parts, fetches: (s.restored * ms) / 1000 };
  }
}

// One archived segment fetched by each restore_command as the server user, 11 times, interleaved, with node's own
// start and a fetch of a segment that is not archived beside them (all through runuser, which costs each the same).
export async function fetchLatency(o: { tmp: string; segment: string; repoUrl: string; systemId: string; pgbr: PgBackRest; env: NodeJS.ProcessEnv }): Promise<PitrReport['fetch']> {
  const dest = path.join(o.tmp, 'fetch');
  fs.mkdirSync(dest, { mode: 0o777 });
  fs.chmodSync(dest, 0o777);
  const target = path.join(dest, 'RECOVERYXLOG');
  const missing = 'FFFFFFFF00000000000000FF';
  const walFetch = (segment: string) => asServerUser(process.execPath, [BIN, 'wal', 'fetch', segment, target, '--repo', o.repoUrl, '--system-id', o.systemId], o.env);
  // [label, command, exit codes, whether it writes the segment]
  const cases: [string, Command, number[], boolean][] = [
    [FETCH_LABELS.pgops, walFetch(o.segment), [0], true],
    [FETCH_LABELS.pgbackrest, o.pgbr.command(['archive-get', o.segment, target]), [0], true],
    ['  node -e "" (node\'s own start, as the server user)', asServerUser(process.execPath, ['-e', ''], o.env), [0], false],
    ['  pgops wal fetch of a segment not archived (start-up and one lookup; exit 5)', walFetch(missing), [5], false],
    ['  pgbackrest archive-get of a segment not archived (exit 1)', o.pgbr.command(['archive-get', missing, target]), [1], false],
  ];
  const ms: number[][] = cases.map(() => []);
  try {
    for (let i = 0; i < TIMES; i++) {
      for (const [k, [label, cmd, okCodes, writes]] of cases.entries()) {
        fs.rmSync(target, { force: true });
        execFileSync('sync');
        ms[k].push((await measure(cmd, { okCodes })).seconds * 1000);
        if (writes && fs.statSync(target).size !== SEGMENT_BYTES) throw new Error(`${label} did not write the whole segment ${o.segment}`);
      }
    }
  } finally {
    fs.rmSync(dest, { recursive: true, force: true });
  }
  return cases.map(([label], k) => ({ label, medianMs: median(ms[k]), minMs: Math.min(...ms[k]) }));
}
