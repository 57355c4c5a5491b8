import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkPgdata, preparePgdata, removeLaidDown } from '../../../../lib/tasks/recover/pgdata.ts';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-pgdata-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('the data directory recover writes into', () => {
  it('may be absent (then created 0700) or empty', () => {
    const fresh = path.join(dir, 'new');
    expect(checkPgdata(fresh)).toEqual({ absent: true });
    preparePgdata(fresh, true);
    expect(fs.statSync(fresh).mode & 0o777).toBe(0o700);
    expect(checkPgdata(fresh)).toEqual({ absent: false });
  });

  it('refuses anything else (exit 3), naming why', () => {
    const at = (name: string) => path.join(dir, name);
    expect(() => checkPgdata('relative/pgdata')).toThrow(/is not an absolute path/);
    expect(() => checkPgdata(path.join(dir, 'no', 'such'))).toThrow(/the folder .* that would hold --pgdata does not exist/);
    fs.writeFileSync(at('file'), '');
    expect(() => checkPgdata(at('file'))).toThrow(/exists and is not a folder/);
    fs.mkdirSync(at('cluster'));
    fs.writeFileSync(at('cluster/PG_VERSION'), '15\n');
    expect(() => checkPgdata(at('cluster'))).toThrow(/holds a PostgreSQL data directory \(PG_VERSION\)/);
    fs.writeFileSync(at('cluster/postmaster.pid'), `${process.pid}\n`);
    // this process is no postgres: a pid file left by a crash is not a running server
    expect(() => checkPgdata(at('cluster'))).toThrow(/PG_VERSION/);
    fs.mkdirSync(at('used'));
    fs.writeFileSync(at('used/notes.txt'), '');
    try {
      checkPgdata(at('used'));
    } catch (err) {
      expect(err).toMatchObject({ code: 3, message: expect.stringMatching(/is not empty \(1 entries: notes\.txt\)/) });
    }
  });

  it('removes what was laid down: the contents, and the folder when recover made it', () => {
    const made = path.join(dir, 'made');
    fs.mkdirSync(made);
    fs.writeFileSync(path.join(made, 'PG_VERSION'), '15');
    removeLaidDown(made, false);
    expect(fs.readdirSync(made)).toEqual([]);
    removeLaidDown(made, true);
    expect(fs.existsSync(made)).toBe(false);
  });
});
