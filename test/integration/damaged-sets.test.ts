import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PgopsError } from '../../lib/errors.ts';
import { FileRepo } from '../../lib/repo/file.ts';
import { setPrefix } from '../../lib/repo/layout.ts';
import { findSet, listSets } from '../../lib/repo/sets.ts';
import { writeDrill, writeSet } from '../support/backup-sets.ts';
import { jsonData, jsonEnvelope, runCli } from '../support/cli.ts';
import { tempFileRepo } from '../support/repo.ts';

// A set whose manifest parses but whose listed files are gone or changed size: something removed files in the
// repository. No task may take it for complete.

const NOW = new Date('2026-11-22T12:00:00Z');
const OLDEST = '20261120T031700Z';
const OLDER = '20261121T031700Z';
const NEWEST = '20261122T031700Z';

let root: string;
let repo: FileRepo;
let url: string;

beforeEach(async () => {
  ({ root, repo, url } = await tempFileRepo('pgops-damaged-'));
  for (const id of [OLDEST, OLDER, NEWEST]) await writeSet(repo, 'app', id);
  // the newest set loses its dump; its manifest still parses
  fs.rmSync(path.join(root, setPrefix('app', NEWEST), 'dump'));
});

afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const cli = (...args: string[]) => runCli([...args, '--repo', url], {}, () => NOW);

describe('a set whose newest dump file was deleted', () => {
  it('backups list shows it damaged, with what is missing', async () => {
    const json = await cli('backups', 'list', '--json');
    expect(json.exitCode).toBe(0);
    const sets = jsonData(json.stdout).sets;
    expect(sets.map((s: { backupId: string; status: string; problem: string | null }) => [s.backupId, s.status, s.problem])).toEqual([
      [NEWEST, 'damaged', 'dump is missing'],
      [OLDER, 'complete', null],
      [OLDEST, 'complete', null],
    ]);
    const text = await cli('backups', 'list');
    expect(text.stdout).toMatch(new RegExp(`^app\\s+${NEWEST}\\s+damaged\\s+.*dump is missing$`, 'm'));
    expect(text.stdout).toContain('3 set(s), 2 complete, 1 damaged, in ');
  });

  it('status does not count it as the newest backup, and warns about it', async () => {
    await writeDrill(repo, 'app', '20261121T050000Z', OLDER, 'pass');
    const r = await cli('status', '--db', 'app', '--max-backup-age', '2d', '--max-drill-age', '8d', '--json');
    expect(r.exitCode).toBe(1);
    const data = jsonData(r.stdout);
    expect(data.status).toBe('WARNING');
    expect(data.databases[0].messages).toEqual([
      `newest backup ${OLDER} is 1d08h old`,
      `backup ${NEWEST} is damaged: dump is missing`,
      expect.stringMatching(/^newest passing drill 20261121T050000Z /),
    ]);
    // a damaged set leads to verify's step for it
    expect(data.runbook).toEqual(['runbooks/verify.md#4-a-damaged-or-missing-file-of-a-backup-set']);
    expect((await cli('status', '--db', 'app', '--max-backup-age', '2d', '--max-drill-age', '8d')).stdout.split('\n')[1]).toBe('runbook: runbooks/verify.md#4-a-damaged-or-missing-file-of-a-backup-set');
  });

  it('prune --keep-last 1 --execute keeps the older restorable set and the damaged one, and exits 1', async () => {
    const r = await cli('prune', '--keep-last', '1', '--execute', '--json', '--log-format', 'human');
    expect(r.exitCode).toBe(1);
    const decisions = jsonData(r.stdout).databases[0].decisions;
    expect(decisions.map((d: { id: string; action: string; reasons: string[] }) => [d.id, d.action, d.reasons])).toEqual([
      [NEWEST, 'keep', ['damaged, kept for inspection: dump is missing']],
      [OLDER, 'keep', ['last 1/1', 'newest complete']],
      [OLDEST, 'delete', ['no rule keeps it']],
    ]);
    expect(r.stderr).toContain(`backup set app/${NEWEST} is damaged (dump is missing): kept`);
    expect(r.stderr).not.toContain('manifest unreadable');
    expect(fs.readdirSync(path.join(root, 'backups/app')).sort()).toEqual([OLDER, NEWEST]);
    expect(fs.readdirSync(path.join(root, 'backups/app', OLDER)).sort()).toEqual(['dump', 'globals.sql', 'manifest.json']);
    expect(fs.readdirSync(path.join(root, 'backups/app', NEWEST)).sort()).toEqual(['globals.sql', 'manifest.json']);
  });

  it('latest is the older complete set', async () => {
    expect((await findSet(repo, 'app', 'latest')).id).toBe(OLDER);
  });

  it('verified skips it even when a drill passed on it', async () => {
    await writeDrill(repo, 'app', '20261121T050000Z', OLDER, 'pass');
    await writeDrill(repo, 'app', '20261122T050000Z', NEWEST, 'pass');
    expect((await findSet(repo, 'app', 'verified')).id).toBe(OLDER);
  });

  it('refuses its explicit id, saying what is missing and naming another set', async () => {
    const err = await findSet(repo, 'app', NEWEST).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgopsError);
    expect((err as PgopsError).code).toBe(6);
    expect((err as PgopsError).message).toBe(`backup ${NEWEST} of database "app" is damaged: dump is missing`);
    expect((err as PgopsError).hint).toContain(`--backup ${OLDER}`);
    // through the CLI the refusal comes before any connection to the target
    const r = await cli('restore', '--db', 'app', '--backup', NEWEST, '--to', 'postgresql://nobody@127.0.0.1:1/never', '--log-format', 'human');
    expect(r.exitCode).toBe(6);
    expect(r.stderr).toContain(`backup ${NEWEST} of database "app" is damaged: dump is missing`);
    expect(r.stderr).toMatch(new RegExp(`^HINT: use --backup ${OLDER} \\(the newest complete set\\)`, 'm'));
  });
});

describe('what makes a set damaged', () => {
  it('a globals.sql of another size than the manifest lists', async () => {
    fs.writeFileSync(path.join(root, setPrefix('app', OLDER), 'globals.sql'), '-- roles, edited by hand\n');
    const set = (await listSets(repo, 'app')).find((s) => s.id === OLDER)!;
    expect(set).toMatchObject({ status: 'damaged', complete: false, problem: 'globals.sql has 25 bytes, the manifest lists 9' });
    expect(set.manifest?.backupId).toBe(OLDER);
  });

  it('names every file that is wrong, and caps the list for a directory-format set', async () => {
    const files: Record<string, string> = { 'globals.sql': '-- roles\n', 'dump/toc.dat': 'toc' };
    for (let i = 0; i < 20; i++) files[`dump/${3000 + i}.dat.gz`] = `table ${i}`;
    await writeSet(repo, 'dir', OLDER, { files, format: 'directory' });
    fs.rmSync(path.join(root, setPrefix('dir', OLDER), 'dump'), { recursive: true });
    fs.writeFileSync(path.join(root, setPrefix('dir', OLDER), 'globals.sql'), '');
    const [set] = await listSets(repo, 'dir');
    expect(set.status).toBe('damaged');
    expect(set.problem).toBe(
      'globals.sql has 0 bytes, the manifest lists 9; dump/toc.dat is missing; dump/3000.dat.gz is missing; dump/3001.dat.gz is missing; dump/3002.dat.gz is missing; and 17 more listed files are missing or have another size',
    );
  });

  it('tells damaged apart from incomplete and unreadable', async () => {
    await writeSet(repo, 'app', '20261122T110000Z', { complete: false });
    fs.writeFileSync(path.join(root, setPrefix('app', OLDEST), 'manifest.json'), '{ not json');
    const sets = await listSets(repo, 'app');
    expect(sets.map((s) => [s.id, s.status, s.complete])).toEqual([
      ['20261122T110000Z', 'incomplete', false],
      [NEWEST, 'damaged', false],
      [OLDER, 'complete', true],
      [OLDEST, 'unreadable', false],
    ]);
  });

  it('a manifest that lists a path outside its set: damaged, naming the path, and restore and drill exit 6', async () => {
    const file = path.join(root, setPrefix('app', OLDER), 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    manifest.files.push({ path: '../../etc/hostname', size: 10, sha256: 'a'.repeat(64) }, { path: '/etc/passwd', size: 10, sha256: 'b'.repeat(64) });
    fs.writeFileSync(file, JSON.stringify(manifest));
    const problem = 'the manifest lists a path outside its set: "../../etc/hostname"; the manifest lists an absolute path: "/etc/passwd"';
    const list = await cli('backups', 'list', '--json');
    const sets = jsonData(list.stdout).sets.map((s: { backupId: string; status: string; problem: string | null }) => [s.backupId, s.status, s.problem]);
    expect(sets).toContainEqual([OLDER, 'damaged', problem]);
    for (const args of [
      ['restore', '--db', 'app', '--backup', OLDER, '--to', 'postgresql://nobody@127.0.0.1:1/never'],
      ['drill', '--db', 'app', '--backup', OLDER, '--target', 'postgresql://nobody@127.0.0.1:1/postgres'],
    ]) {
      const r = await cli(...args, '--json');
      expect(r.exitCode, `${args[0]}: ${r.stderr}`).toBe(6);
      expect(jsonEnvelope(r.stdout).error).toBe(`backup ${OLDER} of database "app" is damaged: ${problem}`);
      expect(r.stderr).not.toContain('invalid repository key');
    }
  });

  it('a manifest that lists a file twice, or the manifest itself', async () => {
    const file = path.join(root, setPrefix('app', OLDER), 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    manifest.files.push(manifest.files[0], { path: 'manifest.json', size: 1, sha256: 'c'.repeat(64) });
    fs.writeFileSync(file, JSON.stringify(manifest));
    const set = (await listSets(repo, 'app')).find((s) => s.id === OLDER)!;
    expect(set).toMatchObject({ status: 'damaged', problem: `the manifest lists ${manifest.files[0].path} twice; the manifest lists the manifest itself: "manifest.json"` });
  });
});

describe('nothing the manifest does not list is read', () => {
  it('restore --globals refuses a set whose manifest does not list globals.sql, before it connects anywhere', async () => {
    const dir = path.join(root, setPrefix('app', OLDER));
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    manifest.files = manifest.files.filter((f: { path: string }) => f.path !== 'globals.sql');
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    fs.writeFileSync(path.join(dir, 'globals.sql'), 'CREATE ROLE planted SUPERUSER;\n');
    // without --globals the set is complete: its manifest lists everything else a restore reads
    expect((await listSets(repo, 'app')).find((s) => s.id === OLDER)?.status).toBe('complete');
    const r = await cli('restore', '--db', 'app', '--backup', OLDER, '--globals', '--to', 'postgresql://nobody@127.0.0.1:1/never', '--log-format', 'human');
    expect(r.exitCode).toBe(6);
    expect(r.stderr).toContain(`backup ${OLDER} of database "app" is damaged: its manifest does not list globals.sql, and an unlisted file is never read`);
    expect(r.stderr).toMatch(/^HINT: restore without --globals/m);
    expect(r.stderr).not.toContain('cannot connect');
  });

  it('restore refuses a set whose manifest lists no dump', async () => {
    const dir = path.join(root, setPrefix('app', OLDER));
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    manifest.files = manifest.files.filter((f: { path: string }) => f.path !== 'dump');
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
    const r = await cli('restore', '--db', 'app', '--backup', OLDER, '--to', 'postgresql://nobody@127.0.0.1:1/never', '--json');
    expect(r.exitCode).toBe(6);
    expect(jsonEnvelope(r.stdout).error).toBe(`backup ${OLDER} of database "app" is damaged: its manifest does not list dump, so there is no verified dump to restore`);
  });
});
