import type pg from 'pg';

// The catalogue of a database as a restore must reproduce it: every user object with its definition as PostgreSQL
// prints it. Taken in the dump's snapshot at backup time, and again in the restored database by a drill, both under
// STABLE_TEXT_SETTINGS (search_path pg_catalog, so every name in a definition is schema-qualified the same way).
export interface Inventory {
  /** INVENTORY_VERSION; absent in inventories of pgops before it, whose lists held names only */
  version?: number;
  schemas: string[];
  /** "schema.table: column type [not null] [default ...], ..." with the columns in name order */
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

export type InventoryList = Exclude<keyof Inventory, 'sequences' | 'largeObjects' | 'version'>;
export const INVENTORY_LISTS: InventoryList[] = ['schemas', 'tables', 'indexes', 'constraints', 'views', 'materializedViews', 'functions', 'triggers', 'policies', 'extensions'];
export const INVENTORY_VERSION = 2;
// The lists whose entries an inventory of version 1 wrote the same way: the others are compared only from version 2.
export const UNCHANGED_SINCE_V1: InventoryList[] = ['schemas', 'extensions'];

// Objects of pg_catalog, information_schema, toast and temp schemas, and objects that belong to extensions, are left out.
const USER_NS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;
const notExtension = (catalog: string, oid: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${catalog}'::regclass AND d.objid = ${oid} AND d.deptype = 'e')`;

// A table's columns as pg_dump recreates them: name, type, collation where not the type's, NOT NULL, default or
// generation expression, identity; in name order, since pg_dump may reorder an inheritance child's columns.
const COLUMNS = `(SELECT coalesce(string_agg(format('%I %s%s%s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                     CASE WHEN a.attcollation <> t.typcollation THEN ' collate ' || a.attcollation::regcollation::text ELSE '' END,
                     CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                     CASE a.attgenerated WHEN 's' THEN ' generated ' || pg_get_expr(ad.adbin, ad.adrelid) ELSE coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '') END,
                     CASE a.attidentity WHEN 'a' THEN ' identity always' WHEN 'd' THEN ' identity by default' ELSE '' END), ', ' ORDER BY a.attname COLLATE "C"), '')
                   FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                   LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)`;

// The root of a constraint that PostgreSQL derived from another (conparentid): a partition's copy of its parent's
// foreign key, or a referencing table's foreign key to each partition of a partitioned referenced table.
const CONSTRAINT_ROOTS = `WITH RECURSIVE roots AS (
    SELECT oid, oid AS root FROM pg_constraint WHERE conparentid = 0
    UNION ALL
    SELECT co.oid, r.root FROM pg_constraint co JOIN roots r ON co.conparentid = r.oid
  )`;

const QUERIES: Record<InventoryList, string> = {
  schemas: `SELECT format('%I', n.nspname) FROM pg_namespace n WHERE ${USER_NS} AND ${notExtension('pg_namespace', 'n.oid')}`,
  tables: `SELECT format('%I.%I%s%s: %s', n.nspname, c.relname,
                  CASE c.relkind WHEN 'p' THEN ' (partitioned by ' || pg_get_partkeydef(c.oid) || ')' WHEN 'f' THEN ' (foreign)' ELSE '' END,
                  CASE WHEN c.relpersistence = 'u' THEN ' (unlogged)' ELSE '' END || coalesce(' (partition ' || pg_get_expr(c.relpartbound, c.oid) || ')', ''),
                  ${COLUMNS})
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'f') AND c.relpersistence <> 't' AND ${USER_NS} AND ${notExtension('pg_class', 'c.oid')}`,
  indexes: `SELECT pg_get_indexdef(i.indexrelid)
              FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE ${USER_NS} AND ${notExtension('pg_class', 't.oid')}`,
  // A constraint pg_dump recreates is matched by its name; one PostgreSQL derives anew on restore is matched by its
  // table, type, root and definition: pg_restore is free to give it another generated name (dropfk_a_fkey5 may come
  // back as dropfk_a_fkey3), as a bare pg_restore does.
  constraints: `${CONSTRAINT_ROOTS}
                SELECT format('%I.%I %s %s: %s', n.nspname, coalesce(t.relname, ty.typname), co.contype,
                              CASE WHEN co.conparentid = 0 THEN quote_ident(co.conname)
                                   ELSE format('(derived from %s on %s)', quote_ident(rc.conname), coalesce(rc.conrelid::regclass::text, '-')) END,
                              pg_get_constraintdef(co.oid))
                  FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
                  JOIN roots r ON r.oid = co.oid JOIN pg_constraint rc ON rc.oid = r.root
                  LEFT JOIN pg_class t ON t.oid = co.conrelid LEFT JOIN pg_type ty ON ty.oid = co.contypid
                 WHERE ${USER_NS} AND ${notExtension('pg_constraint', 'co.oid')} AND (t.oid IS NULL OR ${notExtension('pg_class', 't.oid')})`,
  views: `SELECT format('%I.%I: %s', n.nspname, c.relname, pg_get_viewdef(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE c.relkind = 'v' AND ${USER_NS} AND ${notExtension('pg_class', 'c.oid')}`,
  materializedViews: `SELECT format('%I.%I%s: %s', n.nspname, c.relname, CASE WHEN c.relispopulated THEN '' ELSE ' (not populated)' END, pg_get_viewdef(c.oid))
                        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE c.relkind = 'm' AND ${USER_NS} AND ${notExtension('pg_class', 'c.oid')}`,
  // a function's whole definition is long: its md5 stands for it (aggregates have no pg_get_functiondef)
  functions: `SELECT format('%I.%I(%s)%s', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
                            CASE WHEN p.prokind = 'a' THEN ' aggregate' ELSE ' md5 ' || md5(pg_get_functiondef(p.oid)) END)
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
               WHERE ${USER_NS} AND ${notExtension('pg_proc', 'p.oid')}`,
  triggers: `SELECT format('%I.%I: %s', n.nspname, c.relname, pg_get_triggerdef(tg.oid))
               FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE NOT tg.tgisinternal AND ${USER_NS} AND ${notExtension('pg_class', 'c.oid')}`,
  policies: `SELECT format('%I.%I %I %s %s to %s using %s check %s', schemaname, tablename, policyname, permissive, cmd, roles::text, coalesce(qual, '-'), coalesce(with_check, '-'))
               FROM pg_policies`,
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
    version: INVENTORY_VERSION,
    ...lists,
    sequences: seq.rows.map((r) => ({ name: r.name, lastValue: r.last, isCalled: r.last !== null })),
    largeObjects: Number(lo.rows[0].n),
  };
}
