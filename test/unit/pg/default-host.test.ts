import { describe, expect, it } from 'vitest';
import { DEFAULT_SOCKET_DIRS, defaultSocketDir } from '../../../lib/pg/default-host.ts';

describe('the default host', () => {
  it('is Debian\'s socket folder, then /tmp, as psql tries them', () => {
    expect(DEFAULT_SOCKET_DIRS).toEqual(['/var/run/postgresql', '/tmp']);
  });
  it('is the first folder holding the socket of the port, else the first folder', () => {
    const has = (files: string[]) => (f: string) => files.includes(f);
    expect(defaultSocketDir(5432, DEFAULT_SOCKET_DIRS, has(['/var/run/postgresql/.s.PGSQL.5432', '/tmp/.s.PGSQL.5432']))).toBe('/var/run/postgresql');
    expect(defaultSocketDir(5433, DEFAULT_SOCKET_DIRS, has(['/var/run/postgresql/.s.PGSQL.5432', '/tmp/.s.PGSQL.5433']))).toBe('/tmp');
    expect(defaultSocketDir(5434, DEFAULT_SOCKET_DIRS, has([]))).toBe('/var/run/postgresql');
  });
});
