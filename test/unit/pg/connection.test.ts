import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { childAuth, displayUrl, libpqConnString, parseDbUrl } from '../../../lib/pg/connection.ts';
import { DEFAULT_SOCKET_DIRS } from '../../../lib/pg/default-host.ts';
import { tempDirs } from '../../support/temp-dir.ts';

const tempDir = tempDirs('pgops-conn-');

// A home folder with a ~/.pg_service.conf of this text.
function homeWithServices(text: string): string {
  const home = tempDir();
  fs.writeFileSync(path.join(home, '.pg_service.conf'), text);
  return home;
}

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
  it('reads the keyword/value form and a bare database name, as psql does', () => {
    const info = parseDbUrl("host=/var/run/postgresql dbname='my app' user=x sslmode=disable", {});
    expect(info).toMatchObject({ host: '/var/run/postgresql', port: 5432, user: 'x', database: 'my app', params: { sslmode: 'disable' }, defaultHost: false });
    expect(parseDbUrl('app', { PGHOST: 'db1', PGUSER: 'u' })).toMatchObject({ host: 'db1', user: 'u', database: 'app' });
  });
  it('quotes libpq values with quotes and backslashes', () => {
    const info = parseDbUrl("postgresql://u@h/it's%5Cx", {});
    expect(libpqConnString(info)).toContain("dbname='it\\'s\\\\x'");
  });
  it('defaults to the Unix socket, the OS user and a database of its name, as psql', () => {
    const info = parseDbUrl(undefined, { PGUSER: 'ops' });
    expect(DEFAULT_SOCKET_DIRS).toContain(info.host);
    expect(info).toMatchObject({ port: 5432, user: 'ops', database: 'ops', defaultHost: true });
    expect(parseDbUrl('hostaddr=10.0.0.5 dbname=app', { PGUSER: 'ops' })).toMatchObject({ host: '10.0.0.5', defaultHost: false, params: { hostaddr: '10.0.0.5' } });
  });
  it('keeps PG* settings for its own connections without writing them into the children\'s conninfo', () => {
    const info = parseDbUrl('postgresql://u@h/d', { PGSSLMODE: 'verify-full', PGSSLROOTCERT: '/ca.pem', PGAPPNAME: 'x', PGPASSWORD: 'envsecret' });
    expect(info.envParams).toEqual({ sslmode: 'verify-full', sslrootcert: '/ca.pem' });
    expect(info.password).toBe('envsecret');
    expect(libpqConnString(info)).toBe("host='h' port='5432' user='u' dbname='d'");
    const explicit = parseDbUrl('postgresql://u@h/d?sslmode=require', { PGSSLMODE: 'verify-full' });
    expect(explicit.params).toEqual({ sslmode: 'require' });
    expect(explicit.envParams).toEqual({});
  });
  it('refuses settings its own connections cannot honour, and several hosts', () => {
    expect(() => parseDbUrl('host=h channel_binding=require', {})).toThrow("pgops's own connections cannot honour channel_binding=require");
    expect(() => parseDbUrl('host=h', { PGREQUIREAUTH: 'scram-sha-256' })).toThrow('cannot honour require_auth=scram-sha-256');
    expect(() => parseDbUrl("host=h sslpassword='k3y-pass'", {})).toThrow(/cannot honour sslpassword$/);
    expect(() => parseDbUrl('host=a,b', {})).toThrow('pgops connects to one server');
    expect(() => parseDbUrl('host=a port=99999', {})).toThrow('invalid port: "99999"');
  });
});

describe('services', () => {
  const services = '[app]\nhost=db1.example\nport=6432\ndbname=app\nuser=svc\npassword=svc-secret\nsslmode=verify-full\n';
  it('takes a service from service= or PGSERVICE; explicit keywords win over it, it wins over PG* variables', () => {
    const home = homeWithServices(services);
    const env = { HOME: home, PGHOST: 'env-host', PGUSER: 'env-user', PGSSLMODE: 'disable' };
    const info = parseDbUrl('service=app user=me', env);
    expect(info).toMatchObject({ host: 'db1.example', port: 6432, user: 'me', database: 'app', password: 'svc-secret', params: { sslmode: 'verify-full' } });
    expect(info.envParams).toEqual({});
    expect(parseDbUrl('postgresql:///other', { ...env, PGSERVICE: 'app' })).toMatchObject({ host: 'db1.example', database: 'other', user: 'svc' });
    expect(parseDbUrl('postgresql://h/d?service=app', env)).toMatchObject({ host: 'h', database: 'd', port: 6432 });
  });
  it('gives children the service\'s keywords, not its name, and never its password', () => {
    const info = parseDbUrl('service=app', { HOME: homeWithServices(services) });
    expect(libpqConnString(info)).toBe("host='db1.example' port='6432' user='svc' dbname='app' sslmode='verify-full'");
    const auth = childAuth(info, { PGSERVICE: 'app', PGPASSWORD: 'x' });
    try {
      expect(auth.env.PGSERVICE).toBeUndefined();
      expect(auth.env.PGPASSWORD).toBeUndefined();
      expect(fs.readFileSync(auth.env.PGPASSFILE!, 'utf8')).toBe('*:*:*:*:svc-secret\n');
    } finally {
      auth.cleanup();
    }
  });
  it('reads PGSERVICEFILE and names the files when the service is in none', () => {
    const home = tempDir();
    const file = path.join(home, 'services');
    fs.writeFileSync(file, services);
    expect(parseDbUrl('service=app', { HOME: home, PGSERVICEFILE: file })).toMatchObject({ host: 'db1.example' });
    expect(() => parseDbUrl('service=nope', { HOME: home, PGSERVICEFILE: file, PGSYSCONFDIR: home })).toThrow(
      `service "nope" is not defined in ${file} or ${path.join(home, 'pg_service.conf')} (absent)`,
    );
  });
});

describe('children', () => {
  it('read the password file pgops names: its own with the password, else passfile', () => {
    const info = parseDbUrl('host=h passfile=/p dbname=d user=u', { HOME: tempDir() });
    expect(libpqConnString(info)).toBe("host='h' port='5432' user='u' dbname='d'");
    const auth = childAuth(info, {});
    expect(auth.env.PGPASSFILE).toBe('/p');
    auth.cleanup();
  });
  it('get the password the password file has for the database --db names, for every database they connect to', () => {
    const home = tempDir();
    fs.writeFileSync(path.join(home, '.pgpass'), 'h:5432:app:u:only-for-app\\:x\n', { mode: 0o600 });
    const auth = childAuth(parseDbUrl('host=h dbname=app user=u', { HOME: home }), {});
    try {
      expect(auth.env.PGPASSFILE).not.toBe(path.join(home, '.pgpass'));
      expect(fs.readFileSync(auth.env.PGPASSFILE!, 'utf8')).toBe('*:*:*:*:only-for-app\\:x\n');
      expect(fs.statSync(auth.env.PGPASSFILE!).mode & 0o777).toBe(0o600);
    } finally {
      auth.cleanup();
    }
    expect(fs.existsSync(auth.env.PGPASSFILE!)).toBe(false);
  });
});
