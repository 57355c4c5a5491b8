import fs from 'node:fs';
import { DEFAULT_SOCKET_DIRS } from './default-host.ts';

// Debian's libpq: a connection over its default socket folder matches "localhost" in the password file, as over no host.
const LOCALHOST_SOCKET_DIR = DEFAULT_SOCKET_DIRS[0];

// What a password file line is matched against.
export interface PgpassKey {
  host: string;
  port: number | string;
  database: string;
  user: string;
}

// The password file's password for a connection, or why the file was passed over: libpq's rules (a missing file is no
// error; a file that is no plain file, or that others may read, is ignored with a warning).
export function lookupPassword(file: string, key: PgpassKey): { password?: string; warning?: string } {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return {};
  }
  if (!stat.isFile()) return { warning: `password file "${file}" is not a plain file` };
  if (stat.mode & 0o077) return { warning: `password file "${file}" has group or world access; permissions should be u=rw (0600) or less` };
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return { warning: `password file "${file}" cannot be read: ${(err as Error).message}` };
  }
  const password = matchPassword(text, key);
  return password === undefined ? {} : { password };
}

// The password of the first line that matches, as libpq matches: host:port:database:username:password, "*" for any
// value, "\" escaping ":" and "\", lines starting with # ignored; a socket connection's host is "localhost".
export function matchPassword(text: string, key: PgpassKey): string | undefined {
  const host = !key.host || key.host === LOCALHOST_SOCKET_DIR ? 'localhost' : key.host;
  const wanted = [host, String(key.port), key.database, key.user];
  for (const line of text.split(/\r?\n/)) {
    if (line === '' || line.startsWith('#')) continue;
    const fields = splitFields(line);
    if (fields.length < 5) continue;
    // only a bare * is the wildcard: \* is the character
    if (wanted.every((w, i) => fields[i].raw === '*' || fields[i].value === w)) return fields[4].value || undefined;
  }
  return undefined;
}

// A line's fields as written and unescaped; the fifth, the password, ends at the next unescaped ":" or the line's end.
function splitFields(line: string): Array<{ raw: string; value: string }> {
  const fields: Array<{ raw: string; value: string }> = [];
  let raw = '';
  let value = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) {
      raw += c + line[i + 1];
      value += line[++i];
    } else if (c === ':') {
      fields.push({ raw, value });
      if (fields.length === 5) return fields;
      raw = value = '';
    } else {
      raw += c;
      value += c;
    }
  }
  fields.push({ raw, value });
  return fields;
}
