import type pg from 'pg';
import { messageOf } from '../../../errors.ts';
import type { Logger } from '../../../log.ts';
import type { DrillCheck } from '../../../repo/drill-reports.ts';
import { formatSize } from '../../../units.ts';
import { superuserSession, type DrillServer } from './session.ts';

// The integrity read: every row of every table of every database of the recovered cluster, each value turned into
// text (t::text reads every column and detoasts every TOASTed value), so that a torn page, a missing TOAST chunk or
// a file the recovery did not bring back fails the drill here rather than on the day of the real recovery. System
// catalogues are read too: they are files of the backup like any other. What cannot be read is counted and named:
// foreign tables (their rows live elsewhere), partitioned tables (read through their partitions), materialized
// views never populated, and temporary tables (no data outside their session).

export interface IntegrityResult {
  checks: DrillCheck[];
  databases: number;
  tables: number;
  rows: number;
}

interface Relation {
  name: string;
  kind: string;
  populated: boolean;
  temp: boolean;
  catalog: boolean;
}

const RELATIONS = `
  SELECT format('%I.%I', n.nspname, c.relname) AS name, c.relkind::text AS kind, c.relispopulated AS populated,
         c.relpersistence = 't' AS temp, n.nspname IN ('pg_catalog', 'information_schema') AS catalog
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'm', 'S', 'f', 'p')
   ORDER BY n.nspname, c.relname`;

interface Tally {
  tables: number;
  catalogs: number;
  rows: number;
  chars: bigint;
  sequences: number;
  skipped: Record<'foreign' | 'partitioned' | 'unpopulated' | 'temporary', number>;
}

// Reads every table of the databases, one statement per table (a failure names the table and the others are still
// read); one failed check per table that cannot be read, and one summary check.
export async function integrityRead(s: DrillServer, dbs: readonly string[], o: { statementTimeoutMs: number; log: Logger; signal: AbortSignal }): Promise<IntegrityResult> {
  const tally: Tally = { tables: 0, catalogs: 0, rows: 0, chars: 0n, sequences: 0, skipped: { foreign: 0, partitioned: 0, unpopulated: 0, temporary: 0 } };
  const failures: DrillCheck[] = [];
  for (const db of dbs) {
    o.signal.throwIfAborted();
    o.log.info('integrity', `reading every table of database "${db}"`);
    let client: pg.Client;
    try {
      client = await superuserSession(s, db, o.statementTimeoutMs);
    } catch (err) {
      failures.push({ name: `database ${db}`, status: 'fail', detail: `cannot connect: ${messageOf(err)}` });
      continue;
    }
    const stop = () => void client.end().catch(() => {});
    o.signal.addEventListener('abort', stop, { once: true });
    try {
      const { rows } = await client.query<Relation>(RELATIONS);
      for (const rel of rows) await readRelation(client, db, rel, tally, failures);
    } catch (err) {
      o.signal.throwIfAborted();
      failures.push({ name: `database ${db}`, status: 'fail', detail: `cannot list its tables: ${messageOf(err)}` });
    } finally {
      o.signal.removeEventListener('abort', stop);
      await client.end().catch(() => {});
    }
    o.signal.throwIfAborted();
  }
  const summary: DrillCheck = { name: 'integrity read', status: failures.length ? 'fail' : 'pass', detail: describe(tally, dbs.length, failures.length) };
  return { checks: [summary, ...failures], databases: dbs.length, tables: tally.tables, rows: tally.rows };
}

async function readRelation(client: pg.Client, db: string, rel: Relation, t: Tally, failures: DrillCheck[]): Promise<void> {
  if (rel.temp) return void t.skipped.temporary++;
  if (rel.kind === 'f') return void t.skipped.foreign++;
  if (rel.kind === 'p') return void t.skipped.partitioned++;
  if (rel.kind === 'm' && !rel.populated) return void t.skipped.unpopulated++;
  try {
    if (rel.kind === 'S') {
      await client.query(`SELECT last_value FROM ${rel.name}`);
      t.sequences++;
      return;
    }
    // ONLY: a parent's rows once, its children's when they come up themselves
    const { rows } = await client.query<{ rows: string; chars: string | null }>(`SELECT count(*)::text AS rows, sum(length(t::text))::text AS chars FROM ONLY ${rel.name} t`);
    t.tables++;
    if (rel.catalog) t.catalogs++;
    t.rows += Number(rows[0].rows);
    t.chars += BigInt(rows[0].chars ?? '0');
  } catch (err) {
    const what = rel.kind === 'S' ? 'sequence' : rel.kind === 'm' ? 'materialized view' : 'table';
    const timeout = /statement timeout/.test(messageOf(err)) ? ' (raise --statement-timeout for large tables)' : '';
    failures.push({ name: `${what} ${rel.name} in ${db}`, status: 'fail', detail: `cannot be read whole: ${messageOf(err)}${timeout}` });
  }
}

function describe(t: Tally, databases: number, failed: number): string {
  const skipped = [
    t.skipped.foreign && `${t.skipped.foreign} foreign table${t.skipped.foreign === 1 ? '' : 's'} (rows on another server)`,
    t.skipped.partitioned && `${t.skipped.partitioned} partitioned table${t.skipped.partitioned === 1 ? '' : 's'} (read through their partitions)`,
    t.skipped.unpopulated && `${t.skipped.unpopulated} materialized view${t.skipped.unpopulated === 1 ? '' : 's'} never populated`,
    t.skipped.temporary && `${t.skipped.temporary} temporary table${t.skipped.temporary === 1 ? '' : 's'} (no data outside their session)`,
  ].filter(Boolean);
  const read = `${t.tables} tables (${t.tables - t.catalogs} user, ${t.catalogs} system catalogues) with ${t.rows} rows read in ${databases} database${databases === 1 ? '' : 's'}, every value as text (${formatSize(Number(t.chars))}); ${t.sequences} sequences read`;
  return `${failed ? `${failed} could not be read; ` : ''}${read}${skipped.length ? `; not read: ${skipped.join(', ')}` : ''}`;
}
