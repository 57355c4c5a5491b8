import type pg from 'pg';

// The catalogue of a database as a restore must reproduce it: names of every user object, with counts where a
// name is not enough. Taken in the dump's snapshot at backup time, and again in the restored database by a drill.
export interface Inventory {
  schemas: string[];
  /** "schema.table (N columns)" */
  tables: string[];
  indexes: string[];
  constraints: string[];
  sequences: { name: string; lastValue: string | null; isCalled: boolean }[];
  views: string[];
  materializedViews: string[];
  functions: string[];
  triggers: string[];
  policies: string[];
  extensions: string[];
  largeObjects: number;
}

export type InventoryList = Exclude<keyof Inventory, 'sequences' | 'largeObjects'>;
export const INVENTORY_LISTS: InventoryList[] = ['schemas', 'tables', 'indexes', 'constraints', 'views', 'materializedViews', 'functions', 'triggers', 'policies', 'extensions'];

// Objects of pg_catalog, information_schema, toast and temp schemas, and objects that belong to extensions, are left out.
const USER_NS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;
const notExtension = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

const QUERIES: Record<InventoryList, string> = {
  schemas: `SELECT format('%I', n.nspname) FROM pg_namespace n WHERE ${USER_NS} AND ${notExtension('pg_namespace', 'n.oid')}`,
  tables: `SELECT format('%I.%I (%s columns)', n.nspname, c.relname, (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'f') AND c.relpersistence <> 't' AND ${USER_NS} AND ${notExtension('pg_class', 'c.oid')}`,
  indexes: `SELECT format('%I.%I on %I', n.nspname, c.relname, t.relname)
              FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE ${USER_NS} AND ${notExtension('pg_class', 't.oid')}`,
  constraints: `SELECT format('%I.%I %s %I', n.nspname, coalesce(t.relname, ty.typname), co.contype, co.conname)
                  FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
                  LEFT JOIN pg_class t ON t.oid = co.conrelid LEFT JOIN pg_type ty ON ty.oid = co.contypid
                 WHERE ${USER_NS} AND ${notExtension('pg_constraint', 'co.oid')} AND (t.oid IS NULL OR ${notExtension('pg_class', 't.oid')})`,
  views: `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'v' AND ${USER_NS} AND ${notExtension('pg_class', 'c.oid')}`,
  materializedViews: `SELECT format('%I.%I%s', n.nspname, c.relname, CASE WHEN c.relispopulated THEN '' ELSE ' (not populated)' END)
                        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE c.relkind = 'm' AND ${USER_NS} AND ${notExtension('pg_class', 'c.oid')}`,
  functions: `SELECT format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE ${USER_NS} AND ${notExtension('pg_proc', 'p.oid')}`,
  triggers: `SELECT format('%I.%I %I', n.nspname, c.relname, tg.tgname)
               FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE NOT tg.tgisinternal AND ${USER_NS} AND ${notExtension('pg_class', 'c.oid')}`,
  policies: `SELECT format('%I.%I %I', schemaname, tablename, policyname) FROM pg_policies`,
  extensions: `SELECT format('%I %s', extname, extversion) FROM pg_extension`,
};

// Reads the inventory in the connection's current snapshot (sequences are not transactional: their values are
// read when this runs, as pg_dump reads them when it reaches them).
export async function catalogInventory(client: pg.Client): Promise<Inventory> {
  const lists = {} as Record<InventoryList, string[]>;
  for (const key of INVENTORY_LISTS) {
    const { rows } = await client.query<{ x: string }>(`SELECT x FROM (${QUERIES[key]}) AS q(x) ORDER BY x COLLATE "C"`);
    lists[key] = rows.map((r) => r.x);
  }
  const seq = await client.query<{ name: string; last: string | null }>(
    `SELECT format('%I.%I', schemaname, sequencename) AS name, last_value::text AS last
       FROM pg_sequences s WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
             AND d.objid = format('%I.%I', s.schemaname, s.sequencename)::regclass AND d.deptype = 'e')
      ORDER BY format('%I.%I', schemaname, sequencename) COLLATE "C"`,
  );
  const lo = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_largeobject_metadata');
  return {
    ...lists,
    sequences: seq.rows.map((r) => ({ name: r.name, lastValue: r.last, isCalled: r.last !== null })),
    largeObjects: Number(lo.rows[0].n),
  };
}
