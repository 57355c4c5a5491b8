import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from '../../support/temp-dir.ts';
import { findPgTool, readsDumpOf } from '../../../lib/pg/binaries.ts';

const tempDir = tempDirs('pgops-bin-');

// A folder with a program that answers --version like an older PostgreSQL client would.
function fakeBin(version: string, tool = 'pg_dump'): string {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, tool), `#!/bin/sh\necho "${tool} (PostgreSQL) ${version}"\n`, { mode: 0o755 });
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
    const empty = tempDir();
    await expect(findPgTool('pg_dump', { pgBin: empty, minMajor: 15 })).rejects.toThrow(/pg_dump not found in/);
  });
  it('finds the real one on this machine', async () => {
    const found = await findPgTool('pg_dump', { minMajor: 15 });
    expect(found.major).toBeGreaterThanOrEqual(15);
  });
});

describe('finding pg_restore for a dump', () => {
  it("names the dump's pg_dump version when that is what decides, not the server's", async () => {
    await expect(findPgTool('pg_restore', { pgBin: fakeBin('15.18', 'pg_restore'), ...readsDumpOf('17.2') })).rejects.toMatchObject({
      code: 3,
      message: expect.stringMatching(/^pg_restore 15\.18 \(.*\) is older than the pg_dump 17\.2 that made the dump \(major version 17\): pg_restore must be at least the dump's pg_dump version$/),
      hint: expect.stringContaining('--pg-bin /usr/lib/postgresql/17/bin'),
    });
  });
  it('accepts a pg_restore as new as the dump', async () => {
    expect(await findPgTool('pg_restore', { pgBin: fakeBin('17.0', 'pg_restore'), ...readsDumpOf('17.2') })).toMatchObject({ major: 17 });
  });
});
