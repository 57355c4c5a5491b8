import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPgTool } from '../../lib/pg/binaries.ts';

// A folder with a program that answers --version like an older PostgreSQL client would.
function fakeBin(version: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-bin-'));
  fs.writeFileSync(path.join(dir, 'pg_dump'), `#!/bin/sh\necho "pg_dump (PostgreSQL) ${version}"\n`, { mode: 0o755 });
  return dir;
}

describe('finding pg_dump', () => {
  it('refuses a pg_dump older than the server and says which to install', async () => {
    const dir = fakeBin('13.4');
    await expect(findPgTool('pg_dump', { pgBin: dir, minMajor: 15 })).rejects.toMatchObject({
      code: 3,
      message: expect.stringMatching(/^pg_dump 13\.4 \(.*\) is older than the server's major version 15/),
      hint: expect.stringContaining('apt-get install postgresql-client-15'),
    });
  });
  it('accepts a pg_dump of the server version or newer', async () => {
    const found = await findPgTool('pg_dump', { pgBin: fakeBin('16.2'), minMajor: 15 });
    expect(found).toMatchObject({ version: '16.2', major: 16 });
  });
  it('says how to get one when there is none', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-bin-'));
    await expect(findPgTool('pg_dump', { pgBin: empty, minMajor: 15 })).rejects.toThrow(/pg_dump not found in/);
  });
  it('finds the real one on this machine', async () => {
    const found = await findPgTool('pg_dump', { minMajor: 15 });
    expect(found.major).toBeGreaterThanOrEqual(15);
  });
});
