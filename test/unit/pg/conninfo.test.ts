import { describe, expect, it } from 'vitest';
import { isConnString, parseConnString, parseKeywordValue } from '../../../lib/pg/conninfo.ts';

describe('connection strings in both of libpq\'s forms', () => {
  it('reads a URL: user, password, host, port, database and the query keywords', () => {
    expect(parseConnString('postgresql://backup%20user:s%3Acret@db1.example:6432/my%20app?sslmode=verify-full&sslrootcert=/etc/ca.crt')).toEqual({
      user: 'backup user', password: 's:cret', host: 'db1.example', port: '6432', dbname: 'my app', sslmode: 'verify-full', sslrootcert: '/etc/ca.crt',
    });
  });
  it('reads a socket folder in the URL, percent-encoded or in the query, and keeps + as libpq does', () => {
    expect(parseConnString('postgresql://%2Fvar%2Frun%2Fpostgresql/app')).toMatchObject({ host: '/var/run/postgresql', dbname: 'app' });
    expect(parseConnString('postgres:///app?host=/tmp/sock&application_name=a+b')).toEqual({ dbname: 'app', host: '/tmp/sock', application_name: 'a+b' });
    expect(parseConnString('postgresql://u@/app')).toEqual({ user: 'u', dbname: 'app' });
    expect(parseConnString('postgresql://[::1]:5433/app')).toMatchObject({ host: '::1', port: '5433' });
  });
  it('reads keyword/value pairs: quotes, backslashes, spaces around =, the later of two wins', () => {
    expect(parseKeywordValue("host=/var/run/postgresql dbname='my app' user = x password=it\\'s port=1 port=5433")).toEqual({
      host: '/var/run/postgresql', dbname: 'my app', user: 'x', password: "it's", port: '5433',
    });
    expect(parseKeywordValue("password='a \\'b\\\\ c'")).toEqual({ password: "a 'b\\ c" });
    expect(parseKeywordValue("dbname=''")).toEqual({ dbname: '' });
  });
  it('takes a bare word as the database name, as psql -d does', () => {
    expect(parseConnString('app')).toEqual({ dbname: 'app' });
    expect(isConnString('app')).toBe(false);
    expect(isConnString('dbname=app')).toBe(true);
    expect(isConnString('postgresql:///app')).toBe(true);
  });
  it('refuses an unknown keyword by name, in either form', () => {
    expect(() => parseConnString('host=x dbnmae=y')).toThrow('invalid connection option "dbnmae" in the connection string');
    expect(() => parseConnString('postgresql://h/d?ssl=true')).toThrow('invalid connection option "ssl" in the database URL');
  });
  it('never repeats a password in a parse error', () => {
    for (const bad of ["password=hunter2 'oops", "password='hunter2", 'password=hunter2 word', 'password=hunter2 hunter3=x']) {
      expect(() => parseConnString(bad)).toThrow();
      try {
        parseConnString(bad);
      } catch (err) {
        expect(String((err as Error).message) + (err as { hint?: string }).hint).not.toMatch(/hunter/);
      }
    }
    expect(() => parseConnString('postgresql://u:hunter2@h:notaport/d')).toThrow(/cannot be parsed/);
  });
});
