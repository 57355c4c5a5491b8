import { usageError } from '../errors.ts';

// libpq's connection keywords (PostgreSQL 15 to 18) and the PG* variable that fills each, as PQconninfoOptions lists them.
export const LIBPQ_KEYWORDS: Readonly<Record<string, string | undefined>> = {
  host: 'PGHOST', hostaddr: 'PGHOSTADDR', port: 'PGPORT', dbname: 'PGDATABASE', user: 'PGUSER',
  password: 'PGPASSWORD', passfile: 'PGPASSFILE', service: 'PGSERVICE',
  channel_binding: 'PGCHANNELBINDING', connect_timeout: 'PGCONNECT_TIMEOUT', client_encoding: 'PGCLIENTENCODING',
  options: 'PGOPTIONS', application_name: 'PGAPPNAME', fallback_application_name: undefined,
  keepalives: undefined, keepalives_idle: undefined, keepalives_interval: undefined, keepalives_count: undefined,
  tcp_user_timeout: undefined, replication: undefined, gssencmode: 'PGGSSENCMODE',
  sslmode: 'PGSSLMODE', sslnegotiation: 'PGSSLNEGOTIATION', sslcompression: 'PGSSLCOMPRESSION',
  sslcert: 'PGSSLCERT', sslkey: 'PGSSLKEY', sslpassword: undefined, sslcertmode: 'PGSSLCERTMODE',
  sslrootcert: 'PGSSLROOTCERT', sslcrl: 'PGSSLCRL', sslcrldir: 'PGSSLCRLDIR', sslsni: 'PGSSLSNI',
  requirepeer: 'PGREQUIREPEER', require_auth: 'PGREQUIREAUTH',
  ssl_min_protocol_version: 'PGSSLMINPROTOCOLVERSION', ssl_max_protocol_version: 'PGSSLMAXPROTOCOLVERSION',
  min_protocol_version: 'PGMINPROTOCOLVERSION', max_protocol_version: 'PGMAXPROTOCOLVERSION',
  krbsrvname: 'PGKRBSRVNAME', gsslib: 'PGGSSLIB', gssdelegation: 'PGGSSDELEGATION',
  target_session_attrs: 'PGTARGETSESSIONATTRS', load_balance_hosts: 'PGLOADBALANCEHOSTS',
  oauth_issuer: undefined, oauth_client_id: undefined, oauth_client_secret: undefined, oauth_scope: undefined,
};

// Settings that ask for something node-postgres (pgops's own connections) cannot do: refused rather than ignored,
// because each of them is a promise about the connection (a check, an authentication) that would silently not hold.
const REFUSED: Record<string, (value: string) => boolean> = {
  channel_binding: (v) => v === 'require',
  require_auth: (v) => v !== '',
  requirepeer: (v) => v !== '',
  gssencmode: (v) => v === 'require',
  target_session_attrs: (v) => v !== '' && v !== 'any',
  replication: (v) => v !== '' && v !== '0' && v !== 'false' && v !== 'off' && v !== 'no',
  sslnegotiation: (v) => v === 'direct',
  sslcertmode: (v) => v === 'require',
  sslcrldir: (v) => v !== '',
  // a key passphrase could reach pg_dump only on its command line, where other users see it
  sslpassword: (v) => v !== '',
  oauth_issuer: (v) => v !== '',
  oauth_client_secret: (v) => v !== '',
};

// Throws a usage error for a keyword libpq does not know; `echo` false keeps a possibly secret word out of the message.
export function checkKeyword(keyword: string, where: string, echo = true): void {
  if (Object.hasOwn(LIBPQ_KEYWORDS, keyword)) return;
  throw usageError(
    echo ? `invalid connection option "${keyword}" in ${where}` : `invalid connection option in ${where}`,
    'libpq\'s keywords are listed at https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-PARAMKEYWORDS',
  );
}

// Throws a usage error for a setting pgops's own connections cannot honour (channel_binding=require, require_auth, ...).
export function checkHonoured(settings: Record<string, string>): void {
  for (const [k, v] of Object.entries(settings)) {
    if (!REFUSED[k]?.(v)) continue;
    throw usageError(`pgops's own connections cannot honour ${k}${k === 'sslpassword' || k === 'oauth_client_secret' ? '' : `=${v}`}`, k === 'sslpassword'
      ? 'pg_dump and the other client programs could get the passphrase only on their command line: use an unencrypted key (openssl pkey -in key.enc -out client.key; chmod 0600 client.key)'
      : `node-postgres, which pgops connects with, has no such setting: remove ${k} from --db, the service file or the ${LIBPQ_KEYWORDS[k] ?? 'PG*'} variable`);
  }
}
