import pg from 'pg';
import type { DatabaseGrant, DatabaseProperties } from '../../pg/database-properties.ts';
import { quoteIdent } from '../../pg/ident.ts';

// The statements that give a new database the properties of the backed-up one, as pg_dump writes them for
// `pg_restore --create` (its DATABASE, DATABASE PROPERTIES, COMMENT and ACL entries), for another name.
// Identifiers are quoted and values written as literals by node-postgres's escaping: nothing here is bound, since
// neither CREATE DATABASE nor ALTER ... SET takes parameters.

const lit = (v: string) => pg.escapeLiteral(v);

// Which properties CREATE DATABASE is to leave to the server (the target cannot reproduce them).
export interface CreateOmissions {
  locale?: boolean;
  tablespace?: boolean;
}

// CREATE DATABASE with what cannot be changed afterwards: encoding, locale provider, collation, ctype, ICU locale,
// tablespace; from template0, so that nothing in template1 gets in the restore's way.
export function createDatabaseSql(name: string, p: DatabaseProperties | undefined, serverVersion: number, omit: CreateOmissions = {}): string {
  const parts = [`CREATE DATABASE ${quoteIdent(name)} WITH TEMPLATE = template0`];
  if (p && !omit.locale) {
    parts.push(`ENCODING = ${lit(p.encoding)}`);
    if (serverVersion >= 150000) parts.push(`LOCALE_PROVIDER = ${p.localeProvider}`);
    parts.push(`LC_COLLATE = ${lit(p.collate)}`, `LC_CTYPE = ${lit(p.ctype)}`);
    if (p.iculocale !== null && serverVersion >= 150000) parts.push(`${p.localeProvider === 'builtin' ? 'BUILTIN_LOCALE' : 'ICU_LOCALE'} = ${lit(p.iculocale)}`);
  }
  if (p && !omit.tablespace && p.tablespace !== 'pg_default') parts.push(`TABLESPACE = ${quoteIdent(p.tablespace)}`);
  return parts.join(' ');
}

// What is applied before pg_restore runs: the owner (unless --no-owner) and the comment.
export function beforeRestoreSql(name: string, p: DatabaseProperties, o: { noOwner: boolean }): string[] {
  const db = quoteIdent(name);
  const out: string[] = [];
  if (!o.noOwner) out.push(`ALTER DATABASE ${db} OWNER TO ${quoteIdent(p.owner)}`);
  if (p.comment !== null) out.push(`COMMENT ON DATABASE ${db} IS ${lit(p.comment)}`);
  return out;
}

// What is applied once pg_restore has finished, so that none of it can stand in the restore's way (a database
// setting such as default_transaction_read_only, a connection limit, revoked CONNECT): the settings, the per-role
// settings of roles that exist, the connection limit, the privileges (unless --no-owner, as pg_restore -x), template.
export function afterRestoreSql(name: string, p: DatabaseProperties, o: { noOwner: boolean; roles: ReadonlySet<string> }): string[] {
  const db = quoteIdent(name);
  const out = p.settings.map((s) => setSql(`DATABASE ${db}`, s)).filter((s): s is string => s !== undefined);
  for (const r of p.roleSettings.filter((x) => o.roles.has(x.role))) {
    out.push(...r.settings.map((s) => setSql(`ROLE ${quoteIdent(r.role)} IN DATABASE ${db}`, s)).filter((s): s is string => s !== undefined));
  }
  if (p.connectionLimit !== -1) out.push(`ALTER DATABASE ${db} CONNECTION LIMIT = ${Math.trunc(p.connectionLimit)}`);
  if (!o.noOwner) out.push(...grantSql(db, p));
  if (p.isTemplate) out.push(`ALTER DATABASE ${db} IS_TEMPLATE = true`);
  return out;
}

// Settings whose stored value is a list of quoted elements (pg_dump's variable_is_guc_list_quote).
const LIST_QUOTE = new Set(['local_preload_libraries', 'search_path', 'session_preload_libraries', 'shared_preload_libraries', 'temp_tablespaces', 'unix_socket_directories']);

// ALTER <what> SET name TO value, from a pg_db_role_setting entry "name=value", as pg_dump's makeAlterConfigCommand.
export function setSql(what: string, setting: string): string | undefined {
  const eq = setting.indexOf('=');
  if (eq <= 0) return undefined;
  const name = setting.slice(0, eq);
  const value = setting.slice(eq + 1);
  const values = LIST_QUOTE.has(name.toLowerCase()) ? (splitGucList(value) ?? [value]) : [value];
  return `ALTER ${what} SET ${quoteIdent(name)} TO ${values.map(lit).join(', ')}`;
}

// Splits a list setting's stored value ("$user", public) into its elements, double quotes removed (SplitGUCList).
export function splitGucList(text: string): string[] | undefined {
  const out: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  skipSpace();
  if (i === text.length) return out;
  for (;;) {
    let name = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) return undefined;
        if (text[i] === '"') {
          if (text[i + 1] !== '"') break;
          i++;
        }
        name += text[i++];
      }
      i++;
    } else {
      while (i < text.length && text[i] !== ',' && !/\s/.test(text[i])) name += text[i++];
      if (name === '') return undefined;
    }
    out.push(name);
    skipSpace();
    if (i === text.length) return out;
    if (text[i] !== ',') return undefined;
    i++;
    skipSpace();
  }
}

// The privileges a database has when nobody changed them (acldefault('d', owner)).
export function defaultGrants(owner: string): DatabaseGrant[] {
  return [
    ...['CONNECT', 'TEMPORARY'].map((privilege) => ({ grantee: null, grantor: owner, privilege, grantable: false })),
    ...['CREATE', 'CONNECT', 'TEMPORARY'].map((privilege) => ({ grantee: owner, grantor: owner, privilege, grantable: false })),
  ];
}

const key = (g: DatabaseGrant) => `${g.grantee}\u0000${g.grantor}\u0000${g.privilege}\u0000${g.grantable}`;

// REVOKE everything, then GRANT what the backup lists, each as its grantor (a superuser's GRANT counts as the
// owner's; another grantor's is made under SET ROLE), grant options before what they allow. Nothing when the
// privileges are the defaults.
function grantSql(db: string, p: DatabaseProperties): string[] {
  const wanted = p.acl;
  const defaults = new Set(defaultGrants(p.owner).map(key));
  if (wanted.length === defaults.size && wanted.every((g) => defaults.has(key(g)))) return [];
  const out = [`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`, `REVOKE ALL ON DATABASE ${db} FROM ${quoteIdent(p.owner)}`];
  const canGrant = (g: DatabaseGrant, done: DatabaseGrant[]) => g.grantor === p.owner || done.some((d) => d.grantee === g.grantor && d.privilege === g.privilege && d.grantable);
  const done: DatabaseGrant[] = [];
  let left = [...wanted];
  while (left.length) {
    const ready = left.filter((g) => canGrant(g, done));
    const batch = ready.length ? ready : left; // a chain the backup cannot explain: grant it anyway, it fails loudly
    for (const g of batch) {
      const grant = `GRANT ${g.privilege} ON DATABASE ${db} TO ${g.grantee === null ? 'PUBLIC' : quoteIdent(g.grantee)}${g.grantable ? ' WITH GRANT OPTION' : ''}`;
      out.push(...(g.grantor === p.owner ? [grant] : [`SET ROLE ${quoteIdent(g.grantor)}`, grant, 'RESET ROLE']));
      done.push(g);
    }
    left = left.filter((g) => !batch.includes(g));
  }
  return out;
}
