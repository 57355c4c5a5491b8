import { describe, expect, it } from 'vitest';
import { propertyDifferences, type DatabaseGrant, type DatabaseProperties } from '../../../../lib/pg/database-properties.ts';
import { afterRestoreSql, beforeRestoreSql, createDatabaseSql, defaultGrants, setSql, splitGucList } from '../../../../lib/tasks/restore/database-sql.ts';

// The statements restore --create uses to give a new database the backed-up one's properties, and the comparison
// a drill and a restore into an existing database make.

const grant = (grantee: string | null, privilege: string, grantor = 'app_owner', grantable = false): DatabaseGrant => ({ grantee, grantor, privilege, grantable });

// A database as CREATE DATABASE props leaves it: nothing changed since.
const plain = (over: Partial<DatabaseProperties> = {}): DatabaseProperties => ({
  owner: 'app_owner',
  encoding: 'UTF8',
  localeProvider: 'libc',
  collate: 'C.UTF-8',
  ctype: 'C.UTF-8',
  iculocale: null,
  tablespace: 'pg_default',
  connectionLimit: -1,
  isTemplate: false,
  comment: null,
  acl: defaultGrants('app_owner'),
  settings: [],
  roleSettings: [],
  ...over,
});

const OWNER_ONLY = [grant('app_owner', 'CREATE'), grant('app_owner', 'CONNECT'), grant('app_owner', 'TEMPORARY')];
const after = (p: DatabaseProperties, roles: string[] = ['app_owner', 'app_reader'], noOwner = false) => afterRestoreSql('props', p, { noOwner, roles: new Set(roles) });

describe('splitGucList', () => {
  it('splits a search_path as PostgreSQL stores it, quotes removed', () => {
    expect(splitGucList('"$user", public')).toEqual(['$user', 'public']);
    expect(splitGucList('"$user", public, "Odd Schema"')).toEqual(['$user', 'public', 'Odd Schema']);
    expect(splitGucList('  a ,b  ')).toEqual(['a', 'b']);
  });

  it('reads "" as one empty element and nothing as an empty list', () => {
    expect(splitGucList('""')).toEqual(['']);
    expect(splitGucList('')).toEqual([]);
    expect(splitGucList('   ')).toEqual([]);
  });

  it('keeps a comma and a doubled quote inside a quoted name', () => {
    expect(splitGucList('"we""ird, name", public')).toEqual(['we"ird, name', 'public']);
    expect(splitGucList('""""')).toEqual(['"']);
  });

  it('refuses what SplitGUCList refuses', () => {
    for (const bad of ['"unterminated', 'public,', ',public', 'a b', 'a,,b', '"x"y', '"a""']) expect(splitGucList(bad), bad).toBeUndefined();
  });
});

describe('setSql', () => {
  it('writes a plain value as one literal, whatever it holds', () => {
    expect(setSql('DATABASE "props"', 'work_mem=12MB')).toBe(`ALTER DATABASE "props" SET "work_mem" TO '12MB'`);
    // DateStyle is a list, but not one of quoted names: it is stored and written back as one string
    expect(setSql('DATABASE "props"', 'DateStyle=ISO, MDY')).toBe(`ALTER DATABASE "props" SET "DateStyle" TO 'ISO, MDY'`);
  });

  it('writes each element of a list setting as its own literal', () => {
    expect(setSql('DATABASE "props"', 'search_path="$user", public, "Odd Schema"')).toBe(`ALTER DATABASE "props" SET "search_path" TO '$user', 'public', 'Odd Schema'`);
    expect(setSql('DATABASE "props"', 'temp_tablespaces=""')).toBe(`ALTER DATABASE "props" SET "temp_tablespaces" TO ''`);
  });

  it('doubles a quote in the value and keeps an = after the first', () => {
    expect(setSql('ROLE "app_reader" IN DATABASE "props"', "application_name=it's")).toBe(`ALTER ROLE "app_reader" IN DATABASE "props" SET "application_name" TO 'it''s'`);
    expect(setSql('DATABASE "props"', 'myapp.expr=a=b')).toBe(`ALTER DATABASE "props" SET "myapp.expr" TO 'a=b'`);
  });

  it('quotes a custom setting name with a dot as one identifier (the name PostgreSQL stores)', () => {
    expect(setSql('DATABASE "props"', 'myapp.tenant=acme')).toBe(`ALTER DATABASE "props" SET "myapp.tenant" TO 'acme'`);
  });

  it('skips an entry without a name', () => {
    expect(setSql('DATABASE "props"', '=12MB')).toBeUndefined();
    expect(setSql('DATABASE "props"', 'work_mem')).toBeUndefined();
  });
});

describe('createDatabaseSql', () => {
  it('creates a libc database from template0 with its encoding and locale', () => {
    expect(createDatabaseSql('props', plain(), 150004)).toBe(`CREATE DATABASE "props" WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = libc LC_COLLATE = 'C.UTF-8' LC_CTYPE = 'C.UTF-8'`);
  });

  it('creates an ICU database with its ICU locale', () => {
    expect(createDatabaseSql('props', plain({ localeProvider: 'icu', iculocale: 'de-DE' }), 150004)).toBe(
      `CREATE DATABASE "props" WITH TEMPLATE = template0 ENCODING = 'UTF8' LOCALE_PROVIDER = icu LC_COLLATE = 'C.UTF-8' LC_CTYPE = 'C.UTF-8' ICU_LOCALE = 'de-DE'`,
    );
  });

  it('names no locale provider for a server older than 15', () => {
    expect(createDatabaseSql('props', plain(), 140010)).toBe(`CREATE DATABASE "props" WITH TEMPLATE = template0 ENCODING = 'UTF8' LC_COLLATE = 'C.UTF-8' LC_CTYPE = 'C.UTF-8'`);
  });

  it('puts the database in its tablespace unless that is pg_default or left out', () => {
    expect(createDatabaseSql('props', plain({ tablespace: 'fast ssd' }), 150004)).toMatch(/ TABLESPACE = "fast ssd"$/);
    expect(createDatabaseSql('props', plain(), 150004)).not.toContain('TABLESPACE');
    expect(createDatabaseSql('props', plain({ tablespace: 'ts' }), 150004, { tablespace: true })).not.toContain('TABLESPACE');
  });

  it("leaves the locale to the server when told to, and everything when the set records nothing", () => {
    expect(createDatabaseSql('props', plain({ localeProvider: 'icu', iculocale: 'de-DE', tablespace: 'ts' }), 150004, { locale: true })).toBe(`CREATE DATABASE "props" WITH TEMPLATE = template0 TABLESPACE = "ts"`);
    expect(createDatabaseSql('props', undefined, 150004)).toBe(`CREATE DATABASE "props" WITH TEMPLATE = template0`);
  });

  it('quotes a name with a double quote and values with a single quote', () => {
    expect(createDatabaseSql('we"ird', plain({ collate: "o'dd" }), 150004)).toMatch(/^CREATE DATABASE "we""ird" WITH .* LC_COLLATE = 'o''dd' /);
  });
});

describe('beforeRestoreSql', () => {
  it('sets the owner and the comment, the owner only without --no-owner', () => {
    const p = plain({ comment: "it's the app" });
    expect(beforeRestoreSql('props', p, { noOwner: false })).toEqual([`ALTER DATABASE "props" OWNER TO "app_owner"`, `COMMENT ON DATABASE "props" IS 'it''s the app'`]);
    expect(beforeRestoreSql('props', p, { noOwner: true })).toEqual([`COMMENT ON DATABASE "props" IS 'it''s the app'`]);
  });
});

describe('afterRestoreSql', () => {
  it('writes nothing for a database nobody changed, privileges included', () => {
    expect(after(plain())).toEqual([]);
    // the same defaults in another order are still the defaults
    expect(after(plain({ acl: [...defaultGrants('app_owner')].reverse() }))).toEqual([]);
  });

  it('writes settings, settings of roles that exist, connection limit, privileges and template in that order', () => {
    const p = plain({
      settings: ['search_path="$user", public', 'work_mem=12MB'],
      roleSettings: [{ role: 'app_reader', settings: ['statement_timeout=5s'] }, { role: 'gone', settings: ['work_mem=1MB'] }],
      connectionLimit: 7,
      isTemplate: true,
      acl: [...OWNER_ONLY, grant('app_reader', 'CONNECT')],
    });
    const sql = after(p);
    expect(sql.slice(0, 4)).toEqual([
      `ALTER DATABASE "props" SET "search_path" TO '$user', 'public'`,
      `ALTER DATABASE "props" SET "work_mem" TO '12MB'`,
      `ALTER ROLE "app_reader" IN DATABASE "props" SET "statement_timeout" TO '5s'`,
      `ALTER DATABASE "props" CONNECTION LIMIT = 7`,
    ]);
    expect(sql.at(-1)).toBe(`ALTER DATABASE "props" IS_TEMPLATE = true`);
    expect(sql.join('\n')).not.toContain('gone');
    // --no-owner restores no privileges, as pg_restore -x
    expect(after(p, ['app_owner', 'app_reader'], true).filter((s) => /^(GRANT|REVOKE)/.test(s))).toEqual([]);
  });

  it('revokes everything and grants what the backup lists when PUBLIC lost CONNECT and TEMPORARY', () => {
    expect(after(plain({ acl: [...OWNER_ONLY, grant('app_reader', 'CONNECT')] }))).toEqual([
      `REVOKE ALL ON DATABASE "props" FROM PUBLIC`,
      `REVOKE ALL ON DATABASE "props" FROM "app_owner"`,
      `GRANT CREATE ON DATABASE "props" TO "app_owner"`,
      `GRANT CONNECT ON DATABASE "props" TO "app_owner"`,
      `GRANT TEMPORARY ON DATABASE "props" TO "app_owner"`,
      `GRANT CONNECT ON DATABASE "props" TO "app_reader"`,
    ]);
  });

  it('keeps a grant to PUBLIC and a grant option', () => {
    const sql = after(plain({ acl: [...OWNER_ONLY, grant(null, 'CONNECT'), grant('app_reader', 'TEMPORARY', 'app_owner', true)] }));
    expect(sql).toContain(`GRANT CONNECT ON DATABASE "props" TO PUBLIC`);
    expect(sql).toContain(`GRANT TEMPORARY ON DATABASE "props" TO "app_reader" WITH GRANT OPTION`);
    expect(sql).not.toContain(`GRANT TEMPORARY ON DATABASE "props" TO PUBLIC`);
  });

  it("makes a non-owner's grant as that grantor, after the grant option it depends on", () => {
    // listed before the grant option that allows it: the order of the backup's list must not matter
    const acl = [grant('stranger', 'CONNECT', 'app_reader'), ...OWNER_ONLY, grant('app_reader', 'CONNECT', 'app_owner', true)];
    const sql = after(plain({ acl }));
    const option = sql.indexOf(`GRANT CONNECT ON DATABASE "props" TO "app_reader" WITH GRANT OPTION`);
    const setRole = sql.indexOf(`SET ROLE "app_reader"`);
    expect(option).toBeGreaterThan(1);
    expect(setRole).toBeGreaterThan(option);
    expect(sql.slice(setRole, setRole + 3)).toEqual([`SET ROLE "app_reader"`, `GRANT CONNECT ON DATABASE "props" TO "stranger"`, 'RESET ROLE']);
    expect(sql.filter((s) => s.includes('"stranger"'))).toHaveLength(1);
  });
});

describe('propertyDifferences', () => {
  const backedUp = plain({
    localeProvider: 'icu',
    iculocale: 'de-DE',
    tablespace: 'ts',
    connectionLimit: 7,
    comment: "it's the app",
    acl: [...OWNER_ONLY, grant('app_reader', 'CONNECT')],
    settings: ['search_path="$user", public', 'work_mem=12MB'],
    roleSettings: [{ role: 'app_reader', settings: ['statement_timeout=5s'] }],
  });

  it('finds nothing when every property is the same', () => {
    expect(propertyDifferences(backedUp, structuredClone(backedUp))).toEqual([]);
  });

  it.each<[string, Partial<DatabaseProperties>]>([
    ['encoding', { encoding: 'LATIN1' }],
    ['locale provider', { localeProvider: 'libc' }],
    ['LC_COLLATE', { collate: 'C' }],
    ['LC_CTYPE', { ctype: 'C' }],
    ['ICU locale', { iculocale: 'en-US' }],
    ['tablespace', { tablespace: 'pg_default' }],
    ['owner', { owner: 'root' }],
    ['connection limit', { connectionLimit: -1 }],
    ['template', { isTemplate: true }],
    ['comment', { comment: null }],
    ['privileges', { acl: OWNER_ONLY }],
    ['settings', { settings: ['work_mem=12MB'] }],
    ['role settings', { roleSettings: [] }],
  ])('names a lost %s and nothing else', (property, lost) => {
    const found = { ...structuredClone(backedUp), ...lost };
    expect(propertyDifferences(backedUp, found).map((d) => d.property)).toEqual([property]);
  });

  it('says how each side reads', () => {
    const found = { ...structuredClone(backedUp), tablespace: 'pg_default', comment: null, acl: OWNER_ONLY, settings: ['work_mem=12MB'], roleSettings: [] };
    expect(propertyDifferences(backedUp, found)).toEqual([
      { property: 'tablespace', expected: '"ts"', found: '"pg_default"' },
      { property: 'comment', expected: `"it's the app"`, found: 'none' },
      { property: 'privileges', expected: 'CONNECT to "app_reader" (granted by "app_owner")', found: '-' },
      { property: 'settings', expected: 'search_path="$user", public', found: '-' },
      { property: 'role settings', expected: '"app_reader": statement_timeout=5s', found: '-' },
    ]);
  });

  it('names a privilege the restored database has and the backup does not', () => {
    const found = { ...structuredClone(backedUp), acl: [...backedUp.acl, grant(null, 'CONNECT')] };
    expect(propertyDifferences(backedUp, found)).toEqual([{ property: 'privileges', expected: '-', found: 'CONNECT to PUBLIC (granted by "app_owner")' }]);
  });
});
