#!/usr/bin/env -S node --import tsx
// npm run demo: a backup and a restore, end to end, on a throwaway PostgreSQL cluster.
// It loads a small shop database, backs it up into a folder with `pgops backup`, lists the sets, restores the
// newest into a new database with `pgops restore --create`, and proves that every table came back with the same
// rows and content. Each command is shown before it runs, as a runbook would. Everything lives in one temp
// folder that is removed at the end, also on failure and Ctrl-C. Exit 0 only when every table matches.
import fs from 'node:fs';
import path from 'node:path';
import { startDemoCluster, type DemoCluster } from '../tools/demo/cluster.ts';
import { compare, fingerprintDatabase } from '../tools/demo/compare.ts';
import { CommandFailed, pgops } from '../tools/demo/run-cli.ts';
import { bold, green, red, say, step } from '../tools/demo/say.ts';
import { SHOP_SQL } from '../tools/demo/shop.ts';
import { abortOnSignals, makeWorkDir, stopLeftoverServer } from '../tools/demo/workdir.ts';

const work = makeWorkDir();
const repo = `file://${path.join(work, 'repo')}`;
const stop = new AbortController();
const undoSignals = abortOnSignals(stop, (sig) => say(`\n${red(`${sig}: stopping and cleaning up`)}`));
const started = Date.now();
let cluster: DemoCluster | undefined;

try {
  step(1, 'start a throwaway PostgreSQL cluster');
  cluster = await startDemoCluster();
  say(`listening on 127.0.0.1:${cluster.port}, data in ${cluster.dir} (removed at the end)`);
  stop.signal.throwIfAborted();

  step(2, 'load sample data into database "shop"');
  await cluster.psql('CREATE DATABASE shop');
  await cluster.psql(SHOP_SQL, 'shop');
  const counts: string[] = [];
  for (const table of ['customers', 'products', 'orders', 'order_items', 'invoices']) {
    counts.push(`${table}: ${await cluster.psql(`SELECT count(*) FROM ${table}`, 'shop')} rows`);
  }
  say(counts.join(', '));
  say('plus a view (customer_totals), a materialized view (monthly_revenue) and a sequence (invoice_number_seq)');
  stop.signal.throwIfAborted();

  step(3, 'back it up into a repository folder');
  say('a repository is initialised once (pgops-repo.json): writers refuse a location without it, so a typo in --repo is an error');
  await pgops(['repo', 'init', '--repo', repo], stop.signal);
  say('pgops runs pg_dump in an exported snapshot, streams it into the repository and writes the manifest last');
  await pgops(['backup', '--db', cluster.url('shop'), '--repo', repo], stop.signal);

  step(4, 'list the backup sets');
  await pgops(['backups', 'list', '--repo', repo], stop.signal);
  say();
  say('the repository now holds:');
  for (const file of listFiles(path.join(work, 'repo'))) say(`  ${file}`);

  step(5, 'restore the newest set into a new database "shop_restored"');
  say('pgops checks every file against the sha256 in the manifest first, then runs pg_restore');
  await pgops(['restore', '--repo', repo, '--to', cluster.url('shop_restored'), '--create'], stop.signal);

  step(6, 'compare every table: row count and content hash, source against restored');
  const result = compare(await fingerprintDatabase(cluster.url('shop')), await fingerprintDatabase(cluster.url('shop_restored')));
  say();
  for (const line of result.lines) say(line);
  say();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.matched === result.total) {
    say(bold(green(`all ${result.total} tables and sequences match: the backup restores to the same data (${seconds} s)`)));
  } else {
    say(bold(red(`${result.total - result.matched} of ${result.total} tables and sequences differ: the restore is not a faithful copy`)));
    process.exitCode = 2;
  }
} catch (err) {
  // a Ctrl-C that arrived while a synchronous child ran (initdb, psql) is delivered only once the loop turns
  await new Promise((resolve) => setTimeout(resolve, 50));
  if (stop.signal.aborted) {
    process.exitCode = 130;
  } else if (err instanceof CommandFailed) {
    say(`\n${red(`${err.message}: see its output above`)}`);
    process.exitCode = err.exitCode;
  } else {
    say(`\n${red(`demo failed: ${(err as Error).stack ?? String(err)}`)}`);
    process.exitCode = 2;
  }
} finally {
  step(7, 'clean up');
  if (cluster) await cluster.stop().catch((err) => say(red(`could not stop the cluster: ${(err as Error).message}`)));
  else await stopLeftoverServer(work);
  fs.rmSync(work, { recursive: true, force: true });
  say(`stopped the cluster and removed ${work}`);
  undoSignals();
}

// Every file under `dir`, relative to it, with its size.
function listFiles(dir: string, under = ''): string[] {
  return fs.readdirSync(path.join(dir, under), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)).flatMap((e) => {
    const rel = path.join(under, e.name);
    return e.isDirectory() ? listFiles(dir, rel) : [`${rel}  (${fs.statSync(path.join(dir, rel)).size} bytes)`];
  });
}
