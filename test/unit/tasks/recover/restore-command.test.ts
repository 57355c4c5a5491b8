import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { confValue } from '../../../../lib/tasks/recover/settings.ts';
import { pgopsBin, restoreCommandFor } from '../../../../lib/tasks/recover/restore-command.ts';

// What PostgreSQL does with the setting: reads the postgresql.conf string ('' is ', \\ is \), replaces %f, %p and %%
// (BuildRestoreCommand), and runs the result with sh -c in the data directory.
function asServerRuns(confText: string, f: string, p: string): string {
  const value = confText.slice(1, -1).replace(/''/g, "'").replace(/\\\\/g, '\\');
  return value.replace(/%([fp%])/g, (_, c: string) => (c === 'f' ? f : c === 'p' ? p : '%'));
}

describe('restore_command', () => {
  it('runs this pgops with absolute paths, the repository and the system', () => {
    expect(fs.existsSync(pgopsBin())).toBe(true);
    expect(restoreCommandFor('file:///var/backups/pgops', '7300000000000000000', {})).toBe(`${process.execPath} ${pgopsBin()} wal fetch %f %p --repo file:///var/backups/pgops --system-id 7300000000000000000`);
  });

  it('passes the region and the S3 options that are not defaults, never a secret, and quotes for the shell', () => {
    const cmd = restoreCommandFor("s3://backups/it's", '7300000000000000000', { s3Endpoint: 'http://key:secret@127.0.0.1:9000', s3Region: 'eu-west-1', s3PathStyle: true, s3Checksum: 'when-required' });
    expect(cmd).toMatch(/wal fetch %f %p --repo 's3:\/\/backups\/it'\\''s' --system-id 7300000000000000000 --s3-endpoint http:\/\/127\.0\.0\.1:9000 --s3-region eu-west-1 --s3-path-style --s3-checksum when-required$/);
    expect(cmd).not.toContain('secret');
    // the region is always passed (the server's environment may lack the profile it came from); the rest at their
    // defaults are left out
    const defaults = restoreCommandFor('s3://backups/pgops', '1', { s3Region: 'us-east-1', s3PathStyle: false, s3Checksum: 'when-supported' });
    expect(defaults).toMatch(/--system-id 1 --s3-region us-east-1$/);
  });

  it('takes a spooled file first, with the data directory quoted for sh (a space, a single quote, a percent sign) and then for postgresql.conf', () => {
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-rc-'));
    try {
      const pgdata = path.join(parent, "it's my %f data");
      const spool = path.join(pgdata, 'pgops_spool');
      fs.mkdirSync(path.join(pgdata, 'pg_wal'), { recursive: true });
      fs.mkdirSync(spool);
      const cmd = restoreCommandFor('file:///nowhere/pgops', '7300000000000000000', {}, spool);
      const quoted = `'${parent}/it'\\''s my %%f data/pgops_spool'`;
      // the spooled file first; then the question for the spool (spool.test.ts), while this process lives; then wal fetch
      expect(cmd.startsWith(`f=${quoted}/%f; if [ -f "$f" ] && mv -f "$f" %p; then exit 0; fi; if [ -d ${quoted} ] && `)).toBe(true);
      expect(cmd).toContain(`[ -d /proc/${process.pid} ]`);
      expect(cmd.endsWith(`; fi; exec ${restoreCommandFor('file:///nowhere/pgops', '7300000000000000000', {})}`)).toBe(true);
      const conf = confValue(cmd);
      const name = '000000010000000000000007';
      fs.writeFileSync(path.join(spool, name), 'the spooled segment');
      // spooled: moved into %p, and nothing else runs
      const run = (f: string) => spawnSync('sh', ['-c', asServerRuns(conf, f, 'pg_wal/RECOVERYXLOG')], { cwd: pgdata, encoding: 'utf8' });
      const taken = run(name);
      expect(taken.status, taken.stderr).toBe(0);
      expect(fs.readFileSync(path.join(pgdata, 'pg_wal/RECOVERYXLOG'), 'utf8')).toBe('the spooled segment');
      expect(fs.readdirSync(spool)).toEqual([]);
      fs.rmSync(path.join(pgdata, 'pg_wal/RECOVERYXLOG'));
      // not spooled, and no spool folder (the server started by hand later): wal fetch runs (and says that the
      // repository is not one), %p is not written
      fs.rmdirSync(spool);
      const fetched = run('000000010000000000000008');
      expect(fetched.status).not.toBe(0);
      expect(fetched.stderr).toContain('/nowhere/pgops');
      expect(fs.existsSync(path.join(pgdata, 'pg_wal/RECOVERYXLOG'))).toBe(false);
    } finally {
      fs.rmSync(parent, { recursive: true, force: true });
    }
  });

  it('doubles a percent sign of a path, which PostgreSQL would otherwise replace', () => {
    expect(restoreCommandFor('file:///backups/100%pgops', '1', {})).toContain('--repo file:///backups/100%%pgops ');
  });
});

