import { describe, expect, it } from 'vitest';
import { MissingPassword, connectError, worthAnotherAttempt } from '../../../lib/pg/connect-error.ts';

const facts = { where: 'postgresql://app@db1:5432/app', mode: 'prefer' as const, defaultHost: false };

describe('a failed connection', () => {
  it('says plainly that no password was found, and which line to add where', () => {
    const err = connectError(new MissingPassword('app', '/root/.pgpass', 'db1:5432:app:app'), facts);
    expect(err).toMatchObject({ code: 3, message: 'cannot connect to postgresql://app@db1:5432/app: the server asks for a password for user "app" and none was found: set it in ~/.pgpass (or PGPASSFILE) or PGPASSWORD' });
    expect(err.hint).toContain('add a line db1:5432:app:app:<password> to /root/.pgpass (chmod 0600)');
  });
  it('names the password file when its password was refused', () => {
    const refused = Object.assign(new Error('password authentication failed for user "app"'), { code: '28P01' });
    expect(connectError(refused, { ...facts, passwordFrom: '/root/.pgpass' }).hint).toBe('the password came from /root/.pgpass: correct its line for this host, port, database and user');
  });
  it('says that sslmode asks for TLS the server does not offer, and which check failed', () => {
    expect(connectError(new Error('The server does not support SSL connections'), { ...facts, mode: 'require' }).message).toBe('cannot connect to postgresql://app@db1:5432/app: the server does not support SSL, but sslmode=require requires it');
    expect(connectError(Object.assign(new Error('x'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }), facts).hint).toContain('verify-ca');
    expect(connectError(Object.assign(new Error('x'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }), facts).hint).toContain('not signed by the CA in sslrootcert');
  });
  it('says where the default socket was looked for', () => {
    const absent = Object.assign(new Error('connect ENOENT /var/run/postgresql/.s.PGSQL.5432'), { code: 'ENOENT' });
    expect(connectError(absent, { ...facts, defaultHost: true }).hint).toContain('in /var/run/postgresql, then /tmp');
  });
  it('makes the next sslmode attempt after an answer from the server, not when it could not be reached', () => {
    expect(worthAnotherAttempt(new Error('The server does not support SSL connections'))).toBe(true);
    expect(worthAnotherAttempt(Object.assign(new Error('x'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }))).toBe(true);
    expect(worthAnotherAttempt(Object.assign(new Error('no pg_hba.conf entry'), { code: '28000' }))).toBe(true);
    expect(worthAnotherAttempt(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(worthAnotherAttempt(new MissingPassword('u', 'f', 'l'))).toBe(false);
  });
});
