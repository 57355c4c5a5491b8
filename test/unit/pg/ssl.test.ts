import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sslAttempts } from '../../../lib/pg/ssl.ts';
import { tempDirs } from '../../support/temp-dir.ts';

const tempDir = tempDirs('pgops-ssl-');
const host = 'db1.example';

// A home folder, with ~/.postgresql/ files when given (their content is never parsed here).
function home(files: Record<string, number> = {}): string {
  const h = tempDir();
  fs.mkdirSync(path.join(h, '.postgresql'));
  for (const [f, mode] of Object.entries(files)) fs.writeFileSync(path.join(h, '.postgresql', f), `${f}\n`, { mode });
  return h;
}

describe('sslmode as libpq', () => {
  it('prefer (the default) tries TLS without checks, then plain; allow the other way round; disable plain only', () => {
    const h = home();
    const prefer = sslAttempts({ host, settings: {}, home: h });
    expect(prefer.mode).toBe('prefer');
    expect(prefer.attempts).toHaveLength(2);
    expect(prefer.attempts[0]).toMatchObject({ rejectUnauthorized: false });
    expect(prefer.attempts[1]).toBe(false);
    const allow = sslAttempts({ host, settings: { sslmode: 'allow' }, home: h }).attempts;
    expect(allow[0]).toBe(false);
    expect(allow[1]).toMatchObject({ rejectUnauthorized: false });
    expect(sslAttempts({ host, settings: { sslmode: 'disable' }, home: h }).attempts).toEqual([false]);
  });
  it('never uses TLS over a Unix socket, whatever the mode', () => {
    expect(sslAttempts({ host: '/var/run/postgresql', settings: { sslmode: 'verify-full' }, home: home() }).attempts).toEqual([false]);
  });
  it('require checks nothing, unless a root certificate is there: then the chain, as verify-ca', () => {
    const plain = sslAttempts({ host, settings: { sslmode: 'require' }, home: home() }).attempts;
    expect(plain).toHaveLength(1);
    expect(plain[0]).toMatchObject({ rejectUnauthorized: false });
    const withDefault = sslAttempts({ host, settings: { sslmode: 'require' }, home: home({ 'root.crt': 0o644 }) }).attempts[0];
    expect(withDefault).toMatchObject({ rejectUnauthorized: true, ca: 'root.crt\n' });
    const h = home();
    fs.writeFileSync(path.join(h, 'ca.pem'), 'my ca');
    const given = sslAttempts({ host, settings: { sslmode: 'require', sslrootcert: path.join(h, 'ca.pem') }, home: h }).attempts[0];
    expect(given).toMatchObject({ rejectUnauthorized: true, ca: 'my ca' });
    expect(given && given.checkServerIdentity?.(host, {} as never)).toBeUndefined();
  });
  it('verify-ca checks the chain but not the host name; verify-full both', () => {
    const h = home({ 'root.crt': 0o644 });
    const ca = sslAttempts({ host, settings: { sslmode: 'verify-ca' }, home: h }).attempts[0];
    expect(ca).toMatchObject({ rejectUnauthorized: true, ca: 'root.crt\n' });
    expect(ca && ca.checkServerIdentity?.('other.example', {} as never)).toBeUndefined();
    const full = sslAttempts({ host, settings: { sslmode: 'verify-full' }, home: h }).attempts[0];
    expect(full).toMatchObject({ rejectUnauthorized: true });
    expect(full && full.checkServerIdentity).toBeUndefined();
  });
  it('refuses verify-* without a root certificate and sslrootcert=system with a weaker mode, as libpq', () => {
    const h = home();
    expect(() => sslAttempts({ host, settings: { sslmode: 'verify-ca' }, home: h })).toThrow(`root certificate file "${path.join(h, '.postgresql', 'root.crt')}" does not exist`);
    expect(() => sslAttempts({ host, settings: { sslmode: 'require', sslrootcert: 'system' }, home: h })).toThrow('weak sslmode "require" may not be used with sslrootcert=system');
    const system = sslAttempts({ host, settings: { sslmode: 'verify-full', sslrootcert: 'system' }, home: h }).attempts[0];
    // no ca: Node's own trusted roots
    expect(system && [system.rejectUnauthorized, 'ca' in system]).toEqual([true, false]);
    expect(() => sslAttempts({ host, settings: { sslmode: 'verify' }, home: h })).toThrow('invalid sslmode value: "verify"');
  });
  it('sends the client certificate from sslcert/sslkey or ~/.postgresql, and refuses a key others may read', () => {
    const h = home({ 'postgresql.crt': 0o644, 'postgresql.key': 0o600 });
    expect(sslAttempts({ host, settings: {}, home: h }).attempts[0]).toMatchObject({ cert: 'postgresql.crt\n', key: 'postgresql.key\n' });
    fs.chmodSync(path.join(h, '.postgresql', 'postgresql.key'), 0o644);
    expect(() => sslAttempts({ host, settings: {}, home: h })).toThrow(/private key file ".*postgresql.key" has group or world access/);
    const noKey = home({ 'postgresql.crt': 0o644 });
    expect(() => sslAttempts({ host, settings: {}, home: noKey })).toThrow(/certificate present, but not private key file/);
  });
  it('passes the protocol versions on and refuses others', () => {
    expect(sslAttempts({ host, settings: { ssl_min_protocol_version: 'TLSv1.3' }, home: home() }).attempts[0]).toMatchObject({ minVersion: 'TLSv1.3' });
    expect(() => sslAttempts({ host, settings: { ssl_max_protocol_version: 'SSLv3' }, home: home() })).toThrow('invalid ssl_max_protocol_version value: "SSLv3"');
  });
});
