import { parse as parseUrl } from 'pg-connection-string';
import { usageError } from '../errors.ts';
import { checkKeyword } from './libpq-keywords.ts';

const URL_FORM = /^postgres(ql)?:\/\//;

// The libpq keywords a --db value sets, in either of libpq's forms: a URL (postgresql://user@host:5432/dbname?sslmode=require),
// keyword/value pairs (host=/var/run/postgresql dbname=app user=x), or, as psql's -d takes it, a bare database name.
export function parseConnString(text: string): Record<string, string> {
  if (URL_FORM.test(text)) return parseUri(text);
  if (text.includes('=')) return parseKeywordValue(text);
  return { dbname: text };
}

// Whether a --db value is a connection string (URL or keyword/value) rather than a bare database name.
export function isConnString(text: string): boolean {
  return URL_FORM.test(text) || text.includes('=');
}

// The URL form. pg-connection-string reads user, password, host, port and database; the query is read here, because
// pg-connection-string would read certificate files itself and warn about sslmode values whose meaning it changes,
// and because libpq decodes only %XX in it ('+' stays '+').
function parseUri(text: string): Record<string, string> {
  const q = text.indexOf('?');
  const base = q < 0 ? text : text.slice(0, q);
  let parsed: ReturnType<typeof parseUrl>;
  try {
    parsed = parseUrl(base, { useLibpqCompat: true });
  } catch {
    // the URL may hold a password: never repeat it
    throw usageError('the database URL cannot be parsed', 'write it as postgresql://user@host:5432/dbname; percent-encode special characters in the password (%40 for @, %3A for :, %2F for /)');
  }
  const out: Record<string, string> = {};
  const set = (k: string, v: unknown) => {
    if (typeof v === 'string' && v !== '') out[k] = v;
  };
  set('host', parsed.host);
  set('port', parsed.port);
  set('user', parsed.user);
  set('password', parsed.password);
  set('dbname', parsed.database);
  if (q >= 0) {
    for (const pair of text.slice(q + 1).split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      if (eq < 0) throw usageError('the database URL cannot be parsed: a query parameter has no "="', 'write parameters as ?sslmode=require&sslrootcert=/path');
      const key = decode(pair.slice(0, eq));
      checkKeyword(key, 'the database URL');
      out[key] = decode(pair.slice(eq + 1));
    }
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw usageError('the database URL cannot be parsed: a bad %-escape', 'percent-encode special characters as %XX (%25 for %)');
  }
}

// The keyword/value form, as libpq's conninfo_parse reads it: keyword = value pairs apart by spaces, a value in single
// quotes when it holds spaces, a backslash escaping the next character; a later keyword wins over an earlier one.
export function parseKeywordValue(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const isSpace = (c: string | undefined) => c !== undefined && /\s/.test(c);
  let i = 0;
  while (i < text.length) {
    while (isSpace(text[i])) i++;
    if (i >= text.length) break;
    let key = '';
    while (i < text.length && text[i] !== '=' && !isSpace(text[i])) key += text[i++];
    while (isSpace(text[i])) i++;
    // a password may be what lies around a missing "=": the message quotes nothing of the string
    if (text[i] !== '=') throw usageError('the connection string cannot be parsed: a word without "=" after it', "write keyword=value pairs apart by spaces, values with spaces in single quotes: host=/var/run/postgresql dbname='my app'");
    i++;
    while (isSpace(text[i])) i++;
    let value = '';
    if (text[i] === "'") {
      i++;
      for (;;) {
        if (i >= text.length) throw usageError('the connection string cannot be parsed: a quoted value has no closing quote', "escape a quote inside a value as \\'");
        if (text[i] === '\\' && i + 1 < text.length) {
          value += text[i + 1];
          i += 2;
        } else if (text[i] === "'") {
          i++;
          break;
        } else value += text[i++];
      }
    } else {
      while (i < text.length && !isSpace(text[i])) {
        if (text[i] === '\\' && i + 1 < text.length) i++;
        value += text[i++];
      }
    }
    checkKeyword(key, 'the connection string', !('password' in out));
    out[key] = value;
  }
  return out;
}
