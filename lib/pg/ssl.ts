import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { usageError } from '../errors.ts';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

// What node-postgres is given for one connection attempt: false for a plain connection, else the TLS options.
export type SslAttempt = false | tls.ConnectionOptions;

// Where to connect, as the TLS settings need it.
export interface SslTarget {
  /** the host name or socket folder (a socket never uses TLS, as with libpq) */
  host: string;
  /** the libpq settings in force: sslmode, sslrootcert, sslcert, sslkey, sslcrl, ssl_min/max_protocol_version */
  settings: Record<string, string>;
  /** the home folder whose .postgresql/ holds libpq's default certificate files */
  home: string;
}

// The attempts libpq's sslmode makes, in order: prefer tries TLS then plain, allow plain then TLS, disable plain
// only, require and verify-* TLS only. A socket connection is plain whatever the mode, as with libpq.
export function sslAttempts(t: SslTarget): { mode: SslMode; attempts: SslAttempt[] } {
  const mode = (t.settings.sslmode || 'prefer') as SslMode;
  if (!SSL_MODES.includes(mode)) throw usageError(`invalid sslmode value: "${mode}"`, `use one of ${SSL_MODES.join(', ')}`);
  if (t.host.startsWith('/') || mode === 'disable') return { mode, attempts: [false] };
  const options = tlsOptions(mode, t);
  if (mode === 'prefer') return { mode, attempts: [options, false] };
  if (mode === 'allow') return { mode, attempts: [false, options] };
  return { mode, attempts: [options] };
}

// TLS options as libpq's OpenSSL setup makes them: the chain is checked whenever the root certificate file exists (so
// require with a root certificate is verify-ca), the host name only with verify-full.
function tlsOptions(mode: SslMode, t: SslTarget): tls.ConnectionOptions {
  const s = t.settings;
  const dot = (f: string) => path.join(t.home, '.postgresql', f);
  const options: tls.ConnectionOptions = { minVersion: protocol(s.ssl_min_protocol_version || 'TLSv1.2', 'ssl_min_protocol_version') };
  if (s.ssl_max_protocol_version) options.maxVersion = protocol(s.ssl_max_protocol_version, 'ssl_max_protocol_version');
  const root = s.sslrootcert || dot('root.crt');
  if (root === 'system') {
    // libpq refuses a weaker mode with the system's roots: any public CA would vouch for any name
    if (mode !== 'verify-full') throw usageError(`weak sslmode "${mode}" may not be used with sslrootcert=system`, 'use sslmode=verify-full');
    options.rejectUnauthorized = true;
  } else if (isFile(root)) {
    options.ca = read(root, 'root certificate');
    options.rejectUnauthorized = true;
  } else if (mode === 'verify-ca' || mode === 'verify-full') {
    throw usageError(`root certificate file "${root}" does not exist`,
      'give the CA that signed the server certificate (sslrootcert=/path/ca.crt, or ~/.postgresql/root.crt), sslrootcert=system for the system\'s trusted roots, or sslmode=require to skip the check');
  } else {
    options.rejectUnauthorized = false;
  }
  if (mode !== 'verify-full') options.checkServerIdentity = () => undefined;
  const crl = s.sslcrl || dot('root.crl');
  if (options.ca && isFile(crl)) options.crl = read(crl, 'certificate revocation list');
  const cert = s.sslcert || dot('postgresql.crt');
  if (isFile(cert)) {
    const key = s.sslkey || dot('postgresql.key');
    if (!isFile(key)) throw usageError(`certificate present, but not private key file "${key}"`, 'give the key with sslkey=/path/client.key');
    checkKeyMode(key);
    options.cert = read(cert, 'client certificate');
    options.key = read(key, 'private key');
  }
  return options;
}

// libpq refuses a private key others may read: 0600 or less for the user's own file, 0640 or less for one root owns.
function checkKeyMode(file: string): void {
  const st = fs.statSync(file);
  const own = st.uid === process.geteuid?.();
  if ((own && st.mode & 0o077) || (!own && st.uid === 0 && st.mode & 0o037)) {
    throw usageError(`private key file "${file}" has group or world access; file must have permissions u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r (0640) or less if owned by root`,
      `chmod 0600 ${file}`);
  }
}

function protocol(v: string, keyword: string): tls.SecureVersion {
  if (v === 'TLSv1' || v === 'TLSv1.1' || v === 'TLSv1.2' || v === 'TLSv1.3') return v;
  throw usageError(`invalid ${keyword} value: "${v}"`, 'use TLSv1, TLSv1.1, TLSv1.2 or TLSv1.3');
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function read(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw usageError(`cannot read the ${what} ${file}: ${(err as Error).message}`, 'make it readable by the user pgops runs as');
  }
}
