import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lookupPassword, matchPassword } from '../../../lib/pg/pgpass.ts';
import { tempDirs } from '../../support/temp-dir.ts';

const tempDir = tempDirs('pgops-pgpass-');
const key = { host: 'db1.example', port: 5432, database: 'app', user: 'backup' };

describe('the password file', () => {
  it('takes the first line whose host, port, database and user match, * matching anything', () => {
    const text = ['db2.example:5432:app:backup:wrong-host', 'db1.example:5433:*:backup:wrong-port', '*:5432:app:*:first', '*:*:*:*:second'].join('\n');
    expect(matchPassword(text, key)).toBe('first');
    expect(matchPassword(text, { ...key, database: 'other' })).toBe('second');
    expect(matchPassword('db1.example:5432:app:other:x\n', key)).toBeUndefined();
  });
  it('unescapes \\: and \\\\ in fields and in the password, and skips comments and short lines', () => {
    const text = ['# *:*:*:*:comment', 'db1.example:5432:app', 'db1.example:5432:app:backup:pa\\:ss\\\\word:ignored'].join('\n');
    expect(matchPassword(text, key)).toBe('pa:ss\\word');
    expect(matchPassword('fe80\\:\\:1:5432:*:*:v6\n', { ...key, host: 'fe80::1' })).toBe('v6');
    expect(matchPassword('\\*:5432:*:*:star\n', key)).toBeUndefined();
    expect(matchPassword('\\*:5432:*:*:star\r\n', { ...key, host: '*' })).toBe('star');
  });
  it('matches a connection over the default socket folder, or no host, as localhost; another folder by its path', () => {
    const text = 'localhost:5432:*:*:local\n/tmp:5432:*:*:tmp\n';
    expect(matchPassword(text, { ...key, host: '/var/run/postgresql' })).toBe('local');
    expect(matchPassword(text, { ...key, host: '' })).toBe('local');
    expect(matchPassword(text, { ...key, host: '/tmp' })).toBe('tmp');
  });
  it('reads a 0600 file, passes over a missing one silently and one others may read with libpq\'s warning', () => {
    const dir = tempDir();
    const file = path.join(dir, 'pgpass');
    expect(lookupPassword(file, key)).toEqual({});
    fs.writeFileSync(file, '*:*:*:*:secret\n', { mode: 0o600 });
    expect(lookupPassword(file, key)).toEqual({ password: 'secret' });
    fs.chmodSync(file, 0o640);
    expect(lookupPassword(file, key)).toEqual({ warning: `password file "${file}" has group or world access; permissions should be u=rw (0600) or less` });
    expect(lookupPassword(dir, key)).toEqual({ warning: `password file "${dir}" is not a plain file` });
  });
});
