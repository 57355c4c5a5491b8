import type pg from 'pg';

// One privilege on a database, as aclexplode lists it; grantee null is PUBLIC.
export interface DatabaseGrant {
  grantee: string | null;
  grantor: string;
  privilege: string;
  grantable: boolean;
}

// What `pg_restore --create` reproduces of a database besides its objects (pg_dump's DATABASE, DATABASE PROPERTIES,
// COMMENT and ACL entries), read from pg_database, pg_db_role_setting and pg_shdescription.
export interface DatabaseProperties {
  owner: string;
  encoding: string;
  localeProvider: 'libc' | 'icu' | 'builtin';
  collate: string;
  ctype: string;
  /** the ICU locale (PostgreSQL 17+: also the builtin provider's locale, datlocale) */
  iculocale: string | null;
  /** pg_default when the database has no tablespace of its own */
  tablespace: string;
  /** -1: no limit */
  connectionLimit: number;
  isTemplate: boolean;
  comment: string | null;
  /** the privileges in effect (the defaults spelt out when the ACL was never changed), sorted */
  acl: DatabaseGrant[];
  /** ALTER DATABASE ... SET, as pg_db_role_setting stores them (name=value), sorted */
  settings: string[];
  /** ALTER ROLE ... IN DATABASE ... SET, by role, sorted */
  roleSettings: { role: string; settings: string[] }[];
}

// Reads the properties of the named database of the server the client is connected to (default: its own).
export async function readDatabaseProperties(client: pg.Client, database?: string): Promise<DatabaseProperties> {
  const version = Number((await client.query<{ v: string }>(`SELECT current_setting('server_version_num') AS v`)).rows[0].v);
  // PostgreSQL 17 renamed daticulocale to datlocale (it holds the builtin provider's locale too)
  const locale = version >= 170000 ? 'd.datlocprovider::text AS provider, d.datlocale AS iculocale' : version >= 150000 ? 'd.datlocprovider::text AS provider, d.daticulocale AS iculocale' : `'c' AS provider, NULL::text AS iculocale`;
  const { rows } = await client.query<{ owner: string; encoding: string; provider: string; iculocale: string | null; collate: string; ctype: string; tablespace: string; connlimit: number; istemplate: boolean; comment: string | null; oid: string }>(
    `SELECT pg_catalog.pg_get_userbyid(d.datdba)::text AS owner, pg_catalog.pg_encoding_to_char(d.encoding)::text AS encoding, ${locale},
            d.datcollate::text AS collate, d.datctype::text AS ctype, t.spcname::text AS tablespace, d.datconnlimit AS connlimit,
            d.datistemplate AS istemplate, pg_catalog.shobj_description(d.oid, 'pg_database') AS comment, d.oid::text AS oid
       FROM pg_catalog.pg_database d JOIN pg_catalog.pg_tablespace t ON t.oid = d.dattablespace
      WHERE d.datname = coalesce($1, pg_catalog.current_database())`,
    [database ?? null],
  );
  if (rows.length === 0) throw new Error(`database "${database}" does not exist`);
  const d = rows[0];
  const acl = await client.query<{ grantee: string | null; grantor: string; privilege: string; grantable: boolean }>(
    `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(a.grantee)::text END AS grantee,
            pg_catalog.pg_get_userbyid(a.grantor)::text AS grantor, a.privilege_type AS privilege, a.is_grantable AS grantable
       FROM pg_catalog.pg_database d, pg_catalog.aclexplode(coalesce(d.datacl, pg_catalog.acldefault('d', d.datdba))) AS a
      WHERE d.oid = $1::oid`,
    [d.oid],
  );
  const settings = await client.query<{ role: string | null; setting: string }>(
    `SELECT CASE WHEN s.setrole = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(s.setrole)::text END AS role, c.setting
       FROM pg_catalog.pg_db_role_setting s, pg_catalog.unnest(s.setconfig) AS c(setting)
      WHERE s.setdatabase = $1::oid`,
    [d.oid],
  );
  const byRole = new Map<string, string[]>();
  for (const s of settings.rows.filter((r) => r.role !== null)) byRole.set(s.role!, [...(byRole.get(s.role!) ?? []), s.setting]);
  return {
    owner: d.owner,
    encoding: d.encoding,
    localeProvider: d.provider === 'i' ? 'icu' : d.provider === 'b' ? 'builtin' : 'libc',
    collate: d.collate,
    ctype: d.ctype,
    iculocale: d.iculocale,
    tablespace: d.tablespace,
    connectionLimit: d.connlimit,
    isTemplate: d.istemplate,
    comment: d.comment,
    acl: acl.rows.map((a) => ({ grantee: a.grantee, grantor: a.grantor, privilege: a.privilege, grantable: a.grantable })).sort((a, b) => grantText(a).localeCompare(grantText(b))),
    settings: settings.rows.filter((r) => r.role === null).map((r) => r.setting).sort(),
    roleSettings: [...byRole].sort(([a], [b]) => a.localeCompare(b)).map(([role, s]) => ({ role, settings: s.sort() })),
  };
}

// One privilege as a line of a report: CONNECT to PUBLIC (granted by app), TEMPORARY to app with grant option.
export function grantText(g: DatabaseGrant): string {
  return `${g.privilege} to ${g.grantee === null ? 'PUBLIC' : JSON.stringify(g.grantee)}${g.grantable ? ' with grant option' : ''} (granted by ${JSON.stringify(g.grantor)})`;
}

// One property that differs: its name, and how it reads in the backup and in the restored database.
export interface PropertyDifference {
  property: string;
  expected: string;
  found: string;
}

const show = (v: string | null) => (v === null ? 'none' : JSON.stringify(v));

// The properties of `found` that differ from `expected` (the database's name is not a property: a restore chooses it).
export function propertyDifferences(expected: DatabaseProperties, found: DatabaseProperties): PropertyDifference[] {
  const out: PropertyDifference[] = [];
  const scalar = (property: string, a: string | null, b: string | null) => {
    if (a !== b) out.push({ property, expected: show(a), found: show(b) });
  };
  scalar('encoding', expected.encoding, found.encoding);
  scalar('locale provider', expected.localeProvider, found.localeProvider);
  scalar('LC_COLLATE', expected.collate, found.collate);
  scalar('LC_CTYPE', expected.ctype, found.ctype);
  scalar('ICU locale', expected.iculocale, found.iculocale);
  scalar('tablespace', expected.tablespace, found.tablespace);
  scalar('owner', expected.owner, found.owner);
  scalar('connection limit', String(expected.connectionLimit), String(found.connectionLimit));
  scalar('template', String(expected.isTemplate), String(found.isTemplate));
  scalar('comment', expected.comment, found.comment);
  const lines = (a: string[], b: string[]) => [a.filter((x) => !b.includes(x)), b.filter((x) => !a.includes(x))];
  const [lostGrants, newGrants] = lines(expected.acl.map(grantText), found.acl.map(grantText));
  if (lostGrants.length || newGrants.length) out.push({ property: 'privileges', expected: lostGrants.join('; ') || '-', found: newGrants.join('; ') || '-' });
  const [lostSettings, newSettings] = lines(expected.settings, found.settings);
  if (lostSettings.length || newSettings.length) out.push({ property: 'settings', expected: lostSettings.join('; ') || '-', found: newSettings.join('; ') || '-' });
  const roleLines = (p: DatabaseProperties) => p.roleSettings.flatMap((r) => r.settings.map((s) => `${JSON.stringify(r.role)}: ${s}`));
  const [lostRole, newRole] = lines(roleLines(expected), roleLines(found));
  if (lostRole.length || newRole.length) out.push({ property: 'role settings', expected: lostRole.join('; ') || '-', found: newRole.join('; ') || '-' });
  return out;
}

// A difference as one line: `connection limit: 5 in the backup, -1 here`.
export function differenceText(d: PropertyDifference): string {
  return `${d.property}: ${d.expected} in the backup, ${d.found} here`;
}
