import type pg from 'pg';
import { ExitCode, PgopsError, messageOf } from '../../errors.ts';
import type { DatabaseProperties } from '../../pg/database-properties.ts';
import { parseIdentifier } from '../../pg/ident.ts';
import { createDatabaseSql, type CreateOmissions } from './database-sql.ts';

// What the target server has that the database's properties need.
export interface TargetCapabilities {
  version: number;
  roles: Set<string>;
  tablespaces: Set<string>;
  icu: boolean;
}

// Reads the roles, tablespaces and ICU support of the server the client is connected to.
export async function targetCapabilities(admin: pg.Client): Promise<TargetCapabilities> {
  const { rows } = await admin.query<{ v: string; roles: string[]; tablespaces: string[]; icu: boolean }>(
    `SELECT current_setting('server_version_num') AS v,
            ARRAY(SELECT rolname::text FROM pg_catalog.pg_roles) AS roles,
            ARRAY(SELECT spcname::text FROM pg_catalog.pg_tablespace) AS tablespaces,
            EXISTS (SELECT 1 FROM pg_catalog.pg_collation WHERE collprovider = 'i') AS icu`,
  );
  return { version: Number(rows[0].v), roles: new Set(rows[0].roles), tablespaces: new Set(rows[0].tablespaces), icu: rows[0].icu };
}

// The roles and tablespaces a globals.sql (pg_dumpall --globals-only) creates.
export function globalsCreates(sql: string): { roles: string[]; tablespaces: string[] } {
  const names = (re: RegExp) => [...sql.matchAll(re)].map((m) => parseIdentifier(m[1])).filter((n): n is string => n !== undefined);
  return { roles: names(/^CREATE ROLE ("(?:[^"]|"")+"|[^\s;]+);/gm), tablespaces: names(/^CREATE TABLESPACE ("(?:[^"]|"")+"|[^\s;]+) /gm) };
}

// What a restore is to do with the backed-up database's properties on this target.
export interface PropertyPlan {
  omit: CreateOmissions;
  /** properties the target cannot reproduce, each with why (left out with --skip-unavailable-properties) */
  unavailable: string[];
  /** roles of the target (and of globals.sql when it is applied) */
  roles: Set<string>;
}

const SKIP_HINT = 'or add --skip-unavailable-properties to create the database without them (the result lists what was left out)';

// Checks before anything is created that the target can give the new database the backed-up one's properties:
// every role they name (unless --no-owner), the tablespace, ICU. Refuses, naming what is missing; with
// skipUnavailable, plans to leave out the tablespace and locale it cannot reproduce instead.
export function planProperties(p: DatabaseProperties, target: TargetCapabilities, o: { noOwner: boolean; skipUnavailable: boolean; globals?: { roles: string[]; tablespaces: string[] } }): PropertyPlan {
  const roles = new Set([...target.roles, ...(o.globals?.roles ?? [])]);
  const needed = new Set(o.noOwner ? [] : [p.owner, ...p.acl.flatMap((g) => [g.grantor, ...(g.grantee === null ? [] : [g.grantee])]), ...p.roleSettings.map((r) => r.role)]);
  const missingRoles = [...needed].filter((r) => !roles.has(r));
  if (missingRoles.length) {
    throw new PgopsError(`the target has no role ${missingRoles.map((r) => JSON.stringify(r)).join(', ')}, which the backed-up database's owner, privileges or settings name`, {
      code: ExitCode.UNKNOWN,
      hint: `add --globals to create the roles from the backup's globals.sql${o.globals ? ' (it does not create them: create them by hand)' : ''}, or --no-owner to restore without ownership and privileges; the database was not created`,
    });
  }
  const unavailable: string[] = [];
  const omit: CreateOmissions = {};
  if (p.tablespace !== 'pg_default' && !target.tablespaces.has(p.tablespace) && !o.globals?.tablespaces.includes(p.tablespace)) {
    unavailable.push(`tablespace ${JSON.stringify(p.tablespace)} (the target server has no such tablespace)`);
    omit.tablespace = true;
  }
  if (p.localeProvider === 'icu' && (target.version < 150000 || !target.icu)) {
    unavailable.push(`ICU locale ${JSON.stringify(p.iculocale)} (the target server ${target.version < 150000 ? 'is older than PostgreSQL 15' : 'was built without ICU'})`);
    omit.locale = true;
  }
  if (p.localeProvider === 'builtin' && target.version < 170000) {
    unavailable.push(`builtin locale ${JSON.stringify(p.iculocale)} (the target server is older than PostgreSQL 17)`);
    omit.locale = true;
  }
  if (unavailable.length && !o.skipUnavailable) {
    throw new PgopsError(`the target server cannot reproduce the database's ${unavailable.join(' and ')}`, {
      code: ExitCode.UNKNOWN,
      hint: `give the target what is missing, ${SKIP_HINT}; the database was not created`,
    });
  }
  return { omit, unavailable, roles };
}

// CREATE DATABASE may still fail on the locale (a libc locale the target's system lacks): nothing is created then.
// With skipUnavailable it is tried once more with the server's default locale, and that is listed.
export async function createWithProperties(admin: pg.Client, name: string, p: DatabaseProperties | undefined, target: TargetCapabilities, plan: PropertyPlan | undefined, skipUnavailable: boolean): Promise<string[]> {
  const omit = plan?.omit ?? {};
  try {
    await admin.query(createDatabaseSql(name, p, target.version, omit));
    return plan?.unavailable ?? [];
  } catch (err) {
    const localeProblem = p !== undefined && !omit.locale && /locale|collat|encoding|ctype/i.test(messageOf(err));
    if (!localeProblem) throw createFailed(name, err);
    const what = `locale (${p.localeProvider}, LC_COLLATE ${JSON.stringify(p.collate)}, LC_CTYPE ${JSON.stringify(p.ctype)}${p.iculocale ? `, ICU locale ${JSON.stringify(p.iculocale)}` : ''}): ${messageOf(err)}`;
    if (!skipUnavailable) {
      throw new PgopsError(`the target server cannot reproduce the database's ${what}`, { code: ExitCode.UNKNOWN, hint: `install the locale on the target, ${SKIP_HINT}; the database was not created` });
    }
    try {
      await admin.query(createDatabaseSql(name, p, target.version, { ...omit, locale: true }));
    } catch (again) {
      throw createFailed(name, again);
    }
    return [...(plan?.unavailable ?? []), what];
  }
}

function createFailed(name: string, err: unknown): PgopsError {
  return new PgopsError(`cannot create database "${name}": ${messageOf(err)}`, { code: ExitCode.FAILED, hint: 'the role needs CREATEDB; or create the database yourself and restore without --create', cause: err });
}
