import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readService, serviceFiles, serviceSection } from '../../../lib/pg/service-file.ts';
import { tempDirs } from '../../support/temp-dir.ts';

const tempDir = tempDirs('pgops-service-');

describe('pg_service.conf', () => {
  it('reads the keywords of one section, with comments, blank lines and spaces', () => {
    const text = '# shared\n[other]\nhost=nope\n\n[app]\n  host = db1.example\nport=6432\n# a comment\ndbname=app\nport=1\n[later]\nuser=z\n';
    expect(serviceSection(text, 'app', 'f')).toEqual({ host: 'db1.example', port: '6432', dbname: 'app' });
    expect(serviceSection(text, 'missing', 'f')).toBeUndefined();
  });
  it('refuses nested services, lines without = and unknown keywords, naming the file and line', () => {
    expect(() => serviceSection('[a]\nservice=b\n', 'a', '/f')).toThrow('the service file /f line 2 names another service');
    expect(() => serviceSection('[a]\nhost\n', 'a', '/f')).toThrow('syntax error in the service file /f line 2');
    expect(() => serviceSection('[a]\nhots=x\n', 'a', '/f')).toThrow('"hots" is no connection option');
  });
  it('looks in the user file first, then the system one, as libpq does', () => {
    const home = tempDir();
    const sys = tempDir();
    fs.writeFileSync(path.join(home, '.pg_service.conf'), '[app]\nhost=user-file\n');
    fs.writeFileSync(path.join(sys, 'pg_service.conf'), '[app]\nhost=system-file\n[only-system]\nhost=s\n');
    const files = serviceFiles({ PGSYSCONFDIR: sys }, home);
    expect(files).toEqual([path.join(home, '.pg_service.conf'), path.join(sys, 'pg_service.conf')]);
    expect(readService('app', files).keywords).toEqual({ host: 'user-file' });
    expect(readService('only-system', files)).toEqual({ keywords: { host: 's' }, file: path.join(sys, 'pg_service.conf') });
    expect(serviceFiles({ PGSERVICEFILE: '/x/services' }, home)[0]).toBe('/x/services');
    expect(serviceFiles({}, home)[1]).toBe('/etc/postgresql-common/pg_service.conf');
  });
  it('names the files it read when the service is defined in none', () => {
    const home = tempDir();
    fs.writeFileSync(path.join(home, '.pg_service.conf'), '[app]\nhost=x\n');
    expect(() => readService('nope', [path.join(home, '.pg_service.conf'), '/nonexistent/pg_service.conf'])).toThrow(
      `service "nope" is not defined in ${path.join(home, '.pg_service.conf')} or /nonexistent/pg_service.conf (absent)`,
    );
  });
});
