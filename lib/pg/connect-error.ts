import { ExitCode, PgopsError, messageOf } from '../errors.ts';
import { DEFAULT_SOCKET_DIRS } from './default-host.ts';
import type { SslMode } from './ssl.ts';

// node-postgres's error when the server answers the TLS request with "no".
export const NO_TLS = 'The server does not support SSL connections';

// Thrown from the password callback when the server asks for a password and none was given or found.
export class MissingPassword extends Error {
  constructor(readonly user: string, readonly passfile: string, readonly line: string) {
    super(`the server asks for a password for user "${user}" and none was found: set it in ~/.pgpass (or PGPASSFILE) or PGPASSWORD`);
  }
}

// How the failed attempt was made, for the hint.
export interface AttemptFacts {
  /** the URL for messages (lib/pg/connection.ts displayUrl) */
  where: string;
  mode: SslMode;
  /** the password file the password came from, when it did */
  passwordFrom?: string;
  /** no host was given: the socket folder is psql's default */
  defaultHost: boolean;
}

const CHAIN_ERRORS = /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED)$/;

// A failed connection as the message and hint pgops prints (exit 3, as every failure to connect).
export function connectError(err: unknown, f: AttemptFacts): PgopsError {
  const e = err as { code?: string; message?: string };
  let message = messageOf(err);
  let hint = 'check that the server runs and accepts connections from here (pg_isready), and the user, database and password';
  if (err instanceof MissingPassword) {
    hint = `add a line ${err.line}:<password> to ${err.passfile} (chmod 0600), or set PGPASSWORD; for a connection without password, use a Unix socket with peer authentication`;
  } else if (message === NO_TLS) {
    message = `the server does not support SSL, but sslmode=${f.mode} requires it`;
    hint = "turn ssl on in the server's postgresql.conf, or connect with sslmode=prefer";
  } else if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    hint = 'sslmode=verify-full checks that the server certificate names the host connected to: connect by a name the certificate holds, or use sslmode=verify-ca, which checks the chain only';
  } else if (e.code && CHAIN_ERRORS.test(e.code)) {
    hint = 'the server certificate is not signed by the CA in sslrootcert (default ~/.postgresql/root.crt): give the CA that signed it';
  } else if (e.code === '28P01' && f.passwordFrom) {
    hint = `the password came from ${f.passwordFrom}: correct its line for this host, port, database and user`;
  } else if (f.defaultHost && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')) {
    hint = `no host was given, so pgops connects over the Unix socket as psql does (in ${DEFAULT_SOCKET_DIRS.join(', then ')}): is the server running there? Give host= (or PGHOST) for another socket folder or a TCP host`;
  }
  return new PgopsError(`cannot connect to ${f.where}: ${message}`, { code: ExitCode.UNKNOWN, hint, cause: err });
}

// Whether the next sslmode attempt (plain after TLS for prefer, TLS after plain for allow) is worth making: the server
// answered (refused TLS, failed the handshake or sent an error), as libpq retries; not when it could not be reached.
export function worthAnotherAttempt(err: unknown): boolean {
  if (err instanceof MissingPassword) return false;
  const e = err as { code?: string; message?: string; library?: string };
  if (e.message === NO_TLS || e.message === 'There was an error establishing an SSL connection') return true;
  if (e.library === 'SSL routines' || (e.code && (CHAIN_ERRORS.test(e.code) || e.code.startsWith('ERR_TLS') || e.code.startsWith('ERR_SSL') || e.code.startsWith('CERT_')))) return true;
  return typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code);
}
