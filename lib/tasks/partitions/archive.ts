import { PgopsError } from '../../errors.ts';
import type { PgBinary } from '../../pg/binaries.ts';
import { streamPgTool } from '../../pg/exec-tool.ts';
import { qualified } from '../../pg/ident.ts';
import { backupIdFor, dbFolder } from '../../repo/layout.ts';
import type { Repo } from '../../repo/repo.ts';
import { VERSION } from '../../version.ts';

// Where a partition's archive lives in the repository:
//   archives/<database>/partitions/<schema>/<table>/<partition>-<id>.dump   pg_dump -Fc -t of the partition
//   archives/<database>/partitions/<schema>/<table>/<partition>-<id>.json   written last: what the dump is, its sha256
// Every name is one percent-encoded path segment; the id is the UTC time of the run (20261215T031700Z).
export function archiveKeys(database: string, schema: string, table: string, partition: string, id: string): { dump: string; record: string } {
  const base = `archives/${dbFolder(database)}/partitions/${dbFolder(schema)}/${dbFolder(table)}/${dbFolder(partition)}-${id}`;
  return { dump: `${base}.dump`, record: `${base}.json` };
}

// The record written next to an archived partition's dump.
export interface ArchiveRecord {
  format: 'pgops-partition-archive';
  version: 1;
  database: string;
  table: { schema: string; name: string };
  partition: { schema: string; name: string; bound: string; estimatedRows: number };
  dump: { key: string; size: number; sha256: string; format: 'custom' };
  pgDump: string;
  server: { version: string; systemIdentifier: string | null };
  createdAt: string;
  tool: string;
}

export interface ArchiveRequest {
  repo: Repo;
  pgDump: PgBinary;
  connString: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  lockTimeoutMs: number;
  database: string;
  server: { version: string; systemIdentifier: string | null };
  table: { schema: string; name: string };
  partition: { schema: string; name: string; bound: string; estimatedRows: number };
  now: Date;
}

// Dumps one partition (pg_dump -Fc -t "schema"."name", its data and its ATTACH statement) straight into the
// repository, then writes the record. Refuses to overwrite an archive with the same id.
export async function archivePartition(req: ArchiveRequest): Promise<ArchiveRecord> {
  const id = backupIdFor(req.now);
  const keys = archiveKeys(req.database, req.table.schema, req.table.name, req.partition.name, id);
  if ((await req.repo.exists(keys.dump)) || (await req.repo.exists(keys.record))) {
    throw new PgopsError(`an archive ${keys.dump} exists already`, { hint: 'the partition was archived a moment ago: check that archive, then run again' });
  }
  // a pattern in double quotes matches exactly that name: no wildcards, no case folding
  const pattern = qualified(req.partition.schema, req.partition.name);
  const pgDump = streamPgTool({
    file: req.pgDump.path,
    args: ['--format=custom', '--no-password', '--strict-names', `--table=${pattern}`, `--lock-wait-timeout=${req.lockTimeoutMs}`, `--dbname=${req.connString}`],
    env: req.env,
    signal: req.signal,
    what: `pg_dump of partition ${pattern}`,
    hint: 'read pg_dump\'s message above; nothing was detached or dropped',
  });
  const [put, done] = await Promise.allSettled([req.repo.put(keys.dump, pgDump.stdout, { signal: req.signal }), pgDump.done]);
  if (done.status === 'rejected') {
    await req.repo.delete([keys.dump]).catch(() => {});
    throw done.reason;
  }
  if (put.status === 'rejected') throw put.reason;
  const record: ArchiveRecord = {
    format: 'pgops-partition-archive',
    version: 1,
    database: req.database,
    table: req.table,
    partition: req.partition,
    dump: { key: keys.dump, size: put.value.size, sha256: put.value.sha256, format: 'custom' },
    pgDump: req.pgDump.version,
    server: req.server,
    createdAt: new Date().toISOString(),
    tool: VERSION,
  };
  await req.repo.putBytes(keys.record, JSON.stringify(record, null, 2) + '\n', { ifAbsent: true });
  return record;
}
