import { describe, expect, it } from 'vitest';
import { backupIdFor, backupIdTime, dbFolder, setPrefix } from '../../lib/backup-set.ts';
import { displayUrl, libpqConnString, parseDbUrl } from '../../lib/pg/connection.ts';
import { parseQualifiedName } from '../../lib/pg/ident.ts';
import { redact, addSecret } from '../../lib/redact.ts';
import { dependencyEntries } from '../../lib/tasks/restore/dependencies.ts';
import { globalsProblems, withoutOwnRole } from '../../lib/tasks/restore/globals.ts';
import { restorePasses } from '../../lib/tasks/restore/selection.ts';

describe('backup ids and repository paths', () => {
  it('makes ids that sort in time order and read back', () => {
    const a = backupIdFor(new Date('2026-11-22T03:17:00.999Z'));
    const b = backupIdFor(new Date('2026-11-22T03:17:01Z'));
    expect(a).toBe('20261122T031700Z');
    expect([b, a].sort()).toEqual([a, b]);
    expect(backupIdTime(a)?.toISOString()).toBe('2026-11-22T03:17:00.000Z');
    expect(backupIdTime('latest')).toBeUndefined();
  });
  it('turns any database name into one safe folder', () => {
    expect(dbFolder('app')).toBe('app');
    expect(dbFolder('a/b c')).toBe('a%2Fb%20c');
    expect(dbFolder('..')).toBe('%2E.');
    expect(decodeURIComponent(dbFolder('tricky "ü" db'))).toBe('tricky "ü" db');
    expect(setPrefix('x y', '20261122T031700Z')).toBe('backups/x%20y/20261122T031700Z/');
  });
});

describe('connection URLs', () => {
  it('parses a URL and keeps the password out of what children and messages see', () => {
    const info = parseDbUrl('postgresql://backup%20user:s%3Acret@db1.example:6432/my%20app?sslmode=require', {});
    expect(info).toMatchObject({ host: 'db1.example', port: 6432, user: 'backup user', password: 's:cret', database: 'my app', params: { sslmode: 'require' } });
    expect(libpqConnString(info)).toBe("host='db1.example' port='6432' user='backup user' dbname='my app' sslmode='require'");
    expect(displayUrl(info)).not.toContain('s:cret');
    expect(displayUrl(info)).toBe('postgresql://backup%20user@db1.example:6432/my%20app');
  });
  it('fills gaps from libpq variables', () => {
    expect(parseDbUrl(undefined, { PGHOST: '/run/pg', PGPORT: '5433', PGUSER: 'u', PGDATABASE: 'd' })).toMatchObject({ host: '/run/pg', port: 5433, user: 'u', database: 'd' });
    expect(parseDbUrl('postgresql:///app?host=/tmp/sock', { PGUSER: 'me' })).toMatchObject({ host: '/tmp/sock', user: 'me', database: 'app' });
  });
  it('refuses what is not a URL', () => {
    expect(() => parseDbUrl('host=x dbname=y', {})).toThrow(/must be given as a URL/);
  });
  it('quotes libpq values with quotes and backslashes', () => {
    const info = parseDbUrl("postgresql://u@h/it's%5Cx", {});
    expect(libpqConnString(info)).toContain("dbname='it\\'s\\\\x'");
  });
});

describe('redaction', () => {
  it('masks URL passwords and registered secrets', () => {
    expect(redact('cannot reach postgresql://u:hunter2@h/db')).toBe('cannot reach postgresql://u:***@h/db');
    addSecret('Tr0ub4dor&3');
    expect(redact('{"password":"Tr0ub4dor&3"} Tr0ub4dor%263')).toBe('{"password":"***"} ***');
    expect(redact('host=h password=abc dbname=x')).toBe('host=h password=*** dbname=x');
  });
});

describe('restore selections', () => {
  it('parses SCHEMA.TABLE with quoted parts', () => {
    expect(parseQualifiedName('public.orders')).toEqual({ schema: 'public', name: 'orders' });
    expect(parseQualifiedName('orders')).toEqual({ schema: 'public', name: 'orders' });
    expect(parseQualifiedName('"Sales Ü"."we""ird.table"')).toEqual({ schema: 'Sales Ü', name: 'we"ird.table' });
    expect(parseQualifiedName('a.b.c')).toBeUndefined();
    expect(parseQualifiedName('"open')).toBeUndefined();
    expect(parseQualifiedName('a.')).toBeUndefined();
  });
  it('makes one pg_restore pass per schema group', () => {
    expect(restorePasses([], [])).toEqual([[]]);
    expect(restorePasses(['public.a', 'public.b', 's.c'], [])).toEqual([
      ['--schema=public', '--table=a', '--table=b'],
      ['--schema=s', '--table=c'],
    ]);
    expect(restorePasses(['s.c', 'public.a'], ['s'])).toEqual([['--schema=s'], ['--schema=public', '--table=a']]);
    expect(() => restorePasses(['a.b.c'], [])).toThrow(/invalid --table "a.b.c"/);
  });
  it('picks dependency entries from a pg_restore listing', () => {
    const listing = [
      '6; 2615 16387 SCHEMA - Sales Ü app_owner',
      '853; 1247 16389 TYPE Sales Ü status root',
      '215; 1259 16400 SEQUENCE Sales Ü odd_seq root',
      '217; 1259 16402 TABLE Sales Ü we"ird table app_owner',
      '3445; 0 0 SEQUENCE OWNED BY public accounts_id_seq root',
      '3447; 0 0 SEQUENCE SET Sales Ü odd_seq root',
      '230; 1255 16456 FUNCTION public audit_balance() root',
      ';  comment',
    ].join('\n');
    expect(dependencyEntries(listing).map((l) => l.split(' ')[3])).toEqual(['SCHEMA', 'TYPE', 'SEQUENCE', 'FUNCTION']);
  });
});

describe('globals', () => {
  it('leaves the connecting role alone', () => {
    const sql = 'CREATE ROLE root;\nALTER ROLE root WITH SUPERUSER;\nCREATE ROLE app_owner;\nALTER ROLE app_owner WITH NOLOGIN;\nCREATE ROLE "root 2";';
    expect(withoutOwnRole(sql, 'root')).toBe('CREATE ROLE app_owner;\nALTER ROLE app_owner WITH NOLOGIN;\nCREATE ROLE "root 2";');
    expect(withoutOwnRole('CREATE ROLE "Odd ""One""";\nCREATE ROLE x;', 'Odd "One"')).toBe('CREATE ROLE x;');
  });
  it('reports errors other than roles that already exist', () => {
    const stderr = 'psql:<stdin>:12: ERROR:  role "app_owner" already exists\npsql:<stdin>:20: ERROR:  directory "/srv/ts" does not exist\nNOTICE: x';
    expect(globalsProblems(stderr)).toEqual(['ERROR:  directory "/srv/ts" does not exist']);
  });
});
