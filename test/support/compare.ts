import pg from 'pg';
import { STABLE_TEXT_SETTINGS, tableFingerprints } from '../../lib/pg/fingerprint.ts';
import type { TableFingerprint } from '../../lib/repo/manifest.ts';

// What a round trip must carry over, read from one database: per-table count and content hash, large objects,
// sequence positions, and the catalogue objects that are easy to lose.
export interface DatabaseContent {
  tables: TableFingerprint[];
  largeObjects: { oid: number; md5: string }[];
  sequences: { name: string; last_value: string | null }[];
  policies: string[];
  triggers: string[];
  views: string[];
  identityColumns: string[];
  generatedColumns: string[];
}

// Reads a database's content over a fresh connection (socket dir or host, as the cluster harness exposes it).
export async function readContent(url: string): Promise<DatabaseContent> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    for (const s of STABLE_TEXT_SETTINGS) await client.query(s);
    const rows = async (sql: string) => (await client.query(sql)).rows;
    return {
      tables: await tableFingerprints(client, 'hash'),
      largeObjects: (await rows('SELECT oid::int AS oid, md5(lo_get(oid)) AS md5 FROM pg_largeobject_metadata ORDER BY oid')) as DatabaseContent['largeObjects'],
      sequences: (await rows(`SELECT format('%I.%I', schemaname, sequencename) AS name, last_value::text FROM pg_sequences ORDER BY 1`)) as DatabaseContent['sequences'],
      policies: (await rows(`SELECT format('%s on %I.%I to %s', policyname, schemaname, tablename, roles::text) AS p FROM pg_policies ORDER BY 1`)).map((r) => r.p),
      triggers: (await rows(`SELECT format('%s on %s', tgname, tgrelid::regclass) AS t FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`)).map((r) => r.t),
      views: (await rows(`SELECT format('%I.%I %s', n.nspname, c.relname, c.relkind) AS v FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('v','m') AND n.nspname NOT IN ('pg_catalog','information_schema') ORDER BY 1`)).map((r) => r.v),
      identityColumns: (await rows(`SELECT format('%s.%I %s', attrelid::regclass, attname, attidentity) AS c FROM pg_attribute WHERE attidentity <> '' ORDER BY 1`)).map((r) => r.c),
      generatedColumns: (await rows(`SELECT format('%s.%I', attrelid::regclass, attname) AS c FROM pg_attribute WHERE attgenerated <> '' ORDER BY 1`)).map((r) => r.c),
    };
  } finally {
    await client.end();
  }
}
