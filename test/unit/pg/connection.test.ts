import { describe, expect, it } from 'vitest';
import { displayUrl, libpqConnString, parseDbUrl } from '../../../lib/pg/connection.ts';

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
