import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DrillHost } from '../../tools/runbook-drill/host.ts';
import { PGOPS_BIN, type FollowResult } from '../../tools/runbook-drill/follow.ts';
import { drillRecord, writeRecord } from '../../tools/runbook-drill/results.ts';
import { binDir, type Cluster } from './cluster.ts';

// What the drills share: the host a page is written for, mapped onto a test cluster (its data directory, its log, the
// server programs, pgops as the server's user runs it), and the record of a drill that passed.

// The host of a page: <host> is the cluster; its data directory and log are the cluster's (test/support/cluster.ts).
export function clusterHost(cluster: Cluster, more: Partial<DrillHost> = {}): DrillHost {
  return {
    host: { port: cluster.port },
    pgdata: path.join(cluster.dir, 'data'),
    serverLog: path.join(cluster.dir, 'server.log'),
    pgBin: binDir(),
    pgopsCommand: `${process.execPath} ${PGOPS_BIN}`,
    ...more,
  };
}

// A scratch folder the steps run in, that the server's user can enter too (a step may cd and sudo -u postgres).
export function drillScratch(page: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pgops-drill-${page.replace(/\.md$/, '')}-`));
  fs.chmodSync(dir, 0o777);
  return dir;
}

// Records a drill that passed, with the failure it caused (tools/runbook-drill/results.ts).
export function recordPassed(failure: string, r: FollowResult): void {
  writeRecord(drillRecord(failure, r));
}
