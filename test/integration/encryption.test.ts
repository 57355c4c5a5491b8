import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../lib/age/index.ts';
import { fileArchive, startArchivingCluster, type ArchiveRepo } from '../support/archiving.ts';
import pg from 'pg';
import { stopServer } from '../../lib/tasks/recover/server.ts';
import { jsonData, runCli } from '../support/cli.ts';
import { freePort, SUPERUSER, type Cluster } from '../support/cluster.ts';
import { filesBelow } from '../support/files.ts';
import { serverWritableDir, sha256, switchWal, waitArchived } from '../support/wal.ts';

// An encrypted repository end to end on a real cluster archiving into it: a known string in a table never appears
// in any stored object (dump, globals, base backup, WAL, drill reports, manifests); restore, drill, drill --pitr
// (recovery and its WAL) and wal fetch work with the identity, and without it or with a wrong one stop before
// writing anything; a flipped ciphertext byte is exit 6; verify needs no key; the age tool reads pgops's files;
// repo rekey moves every file to a new recipient, after which the old identity reads nothing.

const CANARY = 'CANARY-plaintext-3f9a61';
const CANARY_TABLE = 'canary_secret_customers';

let archive: ArchiveRepo;
let cluster: Cluster;
let systemId: string;
let root: string;
let work: string;
const key = (name: string) => {
  const k = generateIdentity();
  const file = path.join(work, `${name}.txt`);
  fs.writeFileSync(file, `# created: test\n# public key: ${k.recipient}\n${k.identity}\n`, { mode: 0o600 });
  return { file, recipient: k.recipient };
};
let alice: { file: string; recipient: string };
let bob: { file: string; recipient: string };
let carol: { file: string; recipient: string };
let setId: string;

const hasAge = fs.existsSync('/usr/bin/age');
const repoFiles = () => filesBelow(root).map((f) => path.join(root, f)).filter((f) => !path.basename(f).startsWith('.pgops-tmp-'));
const cli = (...args: string[]) => runCli(args);
const databases = async () => (await cluster.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY 1')).map((r) => r.datname);

beforeAll(async () => {
  // the drill's scratch server runs as the server user: the folder must be open to it
  work = serverWritableDir('pgops-enc-');
  alice = key('alice');
  bob = key('bob');
  carol = key('carol');
  archive = await fileArchive();
  root = decodeURIComponent(archive.url.slice('file://'.length));
  // encrypted before the cluster archives its first segment
  const init = await cli('repo', 'init', '--repo', archive.url, '--encrypt-to', alice.recipient, '--json');
  expect(init.exitCode, init.stderr).toBe(0);
  fs.chmodSync(path.join(root, 'pgops-repo.json'), 0o644);
  ({ cluster, systemId } = await startArchivingCluster(archive));
  await cluster.query('CREATE DATABASE app');
  await cluster.query(`CREATE TABLE ${CANARY_TABLE} (id int PRIMARY KEY, secret text)`, [], 'app');
  await cluster.query(`INSERT INTO ${CANARY_TABLE} SELECT g, '${CANARY}-' || g FROM generate_series(1, 2000) g`, [], 'app');
  const backup = await cli('backup', '--db', cluster.url('app'), '--repo', archive.url, '--fingerprint', 'hash', '--json');
  expect(backup.exitCode, backup.stderr).toBe(0);
  setId = jsonData(backup.stdout).backupId;
  const base = await cli('basebackup', '--db', cluster.url(), '--repo', archive.url, '--json');
  expect(base.exitCode, base.stderr).toBe(0);
  await cluster.query(`UPDATE ${CANARY_TABLE} SET secret = secret || '-after'`, [], 'app');
  await waitArchived(cluster, await switchWal(cluster));
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  await archive?.cleanup();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('an encrypted repository', () => {
  it('records the recipient, and stores no byte of the plaintext: dump, globals, base backup, WAL, manifests', () => {
    const marker = JSON.parse(fs.readFileSync(path.join(root, 'pgops-repo.json'), 'utf8'));
    expect(marker.encryption.recipients).toEqual([alice.recipient]);
    const files = repoFiles();
    const kinds = new Set(files.map((f) => path.relative(root, f).split('/')[0]));
    expect([...kinds].sort()).toEqual(['backups', 'basebackups', 'pgops-repo.json', 'wal']);
    expect(files.filter((f) => /\/wal\/\d+\/[0-9A-F]{24}$/.test(f)).length).toBeGreaterThan(1);
    for (const f of files) {
      const bytes = fs.readFileSync(f);
      expect(bytes.includes(CANARY), f).toBe(false);
      expect(bytes.includes(CANARY_TABLE), f).toBe(false);
    }
    // listing stays readable: ids, sizes, times and the sha256 of both the stored age file and the plaintext
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'backups/app', setId, 'manifest.json'), 'utf8'));
    expect(manifest.backupId).toBe(setId);
    expect(manifest.fingerprints).toBeUndefined();
    expect(manifest.inventory).toBeUndefined();
    expect(typeof manifest.sealed).toBe('string');
    const dump = manifest.files.find((x: { path: string }) => x.path === 'dump');
    const stored = fs.readFileSync(path.join(root, 'backups/app', setId, 'dump'));
    expect(stored.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect({ size: stored.length, sha256: sha256(stored) }).toEqual(dump.sealed);
    expect(dump.sha256).not.toBe(dump.sealed.sha256);
  });

  it.skipIf(!hasAge)('is read by the age tool: age -d gives the dump whose sha256 the manifest lists', () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'backups/app', setId, 'manifest.json'), 'utf8'));
    const dump = manifest.files.find((x: { path: string }) => x.path === 'dump');
    const plain = execFileSync('age', ['-d', '-i', alice.file, path.join(root, 'backups/app', setId, 'dump')], { maxBuffer: 1 << 30 });
    expect(plain.subarray(0, 5).toString()).toBe('PGDMP');
    expect(sha256(plain)).toBe(dump.sha256);
    expect(() => execFileSync('age', ['-d', '-i', bob.file, path.join(root, 'backups/app', setId, 'dump')], { stdio: 'pipe' })).toThrow();
  });

  it('lists, checks its status and verifies every stored file without a key', async () => {
    const list = await cli('backups', 'list', '--repo', archive.url, '--json');
    expect(list.exitCode, list.stderr).toBe(0);
    expect(JSON.stringify(jsonData(list.stdout))).toContain(setId);
    const info = await cli('repo', 'info', '--repo', archive.url);
    expect(info.stdout).toContain(`encrypted to ${alice.recipient}`);
    const verify = await cli('verify', '--repo', archive.url);
    expect(verify.exitCode, verify.stdout + verify.stderr).toBe(0);
    const deep = await cli('verify', '--repo', archive.url, '--deep', '--identity', alice.file);
    expect(deep.exitCode, deep.stdout + deep.stderr).toBe(0);
    const deepWithout = await cli('verify', '--repo', archive.url, '--deep');
    expect(deepWithout.exitCode).toBe(3);
  });

  it('refuses to restore without an identity, or with one that is no recipient, before creating anything', async () => {
    const without = await cli('restore', '--repo', archive.url, '--to', cluster.url('nokey'), '--create');
    expect(without.exitCode).toBe(3);
    expect(without.stderr).toContain(`is encrypted to ${alice.recipient}, and this task reads its files`);
    expect(without.stderr).toContain('--identity FILE');
    const wrong = await cli('restore', '--repo', archive.url, '--to', cluster.url('wrongkey'), '--create', '--identity', bob.file);
    expect(wrong.exitCode).toBe(3);
    expect(wrong.stderr).toContain(`the identity in ${bob.file} (${bob.recipient}) is none of the recipients`);
    expect(wrong.stderr).not.toContain('AGE-SECRET-KEY-1');
    expect(await databases()).not.toContain('nokey');
    expect(await databases()).not.toContain('wrongkey');
    const fetchWithout = await cli('wal', 'fetch', '000000010000000000000002', path.join(work, 'seg'), '--repo', archive.url, '--system-id', systemId);
    expect(fetchWithout.exitCode).toBe(3);
    expect(fs.existsSync(path.join(work, 'seg'))).toBe(false);
  });

  it('restores with the identity, every row as it was dumped', async () => {
    const r = await cli('restore', '--repo', archive.url, '--to', cluster.url('restored'), '--create', '--identity', alice.file);
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = await cluster.query<{ n: string; bad: string }>(`SELECT count(*) AS n, count(*) FILTER (WHERE secret <> '${CANARY}-' || id) AS bad FROM ${CANARY_TABLE}`, [], 'restored');
    expect(rows[0]).toEqual({ n: '2000', bad: '0' });
  });

  it('fetches a WAL file with the identity, byte for byte what the server archived', async () => {
    const sidecars = repoFiles().filter((f) => /\/wal\/\d+\/[0-9A-F]{24}\.json$/.test(f));
    const sidecar = JSON.parse(fs.readFileSync(sidecars[0], 'utf8'));
    expect(sidecar.sealed.size).toBe(fs.statSync(sidecars[0].replace(/\.json$/, '')).size);
    const dest = path.join(work, 'fetched');
    const r = await cli('wal', 'fetch', sidecar.name, dest, '--repo', archive.url, '--system-id', systemId, '--identity', alice.file);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(sha256(fs.readFileSync(dest))).toBe(sidecar.sha256);
  });

  it('drills the set with the identity, and the stored report keeps its checks sealed', async () => {
    // without it, or with another key, the drill stops before it creates its scratch database or stores a report
    const before = await databases();
    for (const extra of [[], ['--identity', bob.file]]) {
      const refused = await cli('drill', '--repo', archive.url, '--drill-target', cluster.url(), ...extra);
      expect(refused.exitCode, refused.stderr).toBe(3);
    }
    expect(await databases()).toEqual(before);
    expect(repoFiles().filter((f) => f.includes('/drills/'))).toEqual([]);
    const r = await cli('drill', '--repo', archive.url, '--drill-target', cluster.url(), '--identity', alice.file, '--json');
    expect(r.exitCode, r.stderr).toBe(0);
    const report = repoFiles().find((f) => f.includes('/drills/app/'))!;
    const stored = JSON.parse(fs.readFileSync(report, 'utf8'));
    expect(stored.result).toBe('pass');
    expect(stored.checks).toBeUndefined();
    expect(fs.readFileSync(report).includes(CANARY_TABLE)).toBe(false);
    // status reads the sealed report's plain fields without a key
    const status = await cli('status', '--repo', archive.url, '--db', 'app');
    expect(status.stdout).toContain(`newest passing drill ${stored.drillId}`);
  });

  it('drills the base backup and the WAL after it (drill --pitr) with the identity', async () => {
    const tmp = fs.mkdtempSync(path.join(work, 'pitr-'));
    fs.chmodSync(tmp, 0o777);
    const r = await cli('drill', '--pitr', '--repo', archive.url, '--tmp-dir', tmp, '--identity', alice.file, '--json');
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    for (const f of repoFiles().filter((x) => x.includes('/drills/@'))) expect(fs.readFileSync(f).includes(CANARY), f).toBe(false);
  }, 120_000);

  it('recovers the cluster to the end of the archive (recover --start) with the identity, the rows updated after the base backup back', async () => {
    const pgdata = path.join(work, 'recovered');
    const port = await freePort();
    const without = await cli('recover', '--repo', archive.url, '--pgdata', pgdata, '--archive-mode', 'off');
    expect(without.exitCode).toBe(3);
    expect(fs.existsSync(pgdata)).toBe(false);
    try {
      const r = await cli('recover', '--repo', archive.url, '--pgdata', pgdata, '--archive-mode', 'off', '--start', '--port', String(port), '--identity', alice.file, '--json');
      expect(r.exitCode, r.stdout + r.stderr).toBe(0);
      expect(jsonData(r.stdout).recovery).toMatchObject({ reached: true, state: 'promoted' });
      // the identity's path, never its key, is in restore_command
      const auto = fs.readFileSync(path.join(pgdata, 'postgresql.auto.conf'), 'utf8');
      expect(auto).toContain(`--identity ${alice.file}`);
      expect(auto).not.toContain('AGE-SECRET-KEY-1');
      const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, database: 'app' });
      await client.connect();
      try {
        const rows = await client.query(`SELECT count(*) AS n FROM ${CANARY_TABLE} WHERE secret LIKE '%-after'`);
        expect(rows.rows[0].n).toBe('2000');
      } finally {
        await client.end();
      }
    } finally {
      await stopServer(pgdata, 'postgres').catch(() => {});
    }
  }, 120_000);

  it('fails a flipped ciphertext byte with exit 6: restore, drill and verify', async () => {
    const dump = path.join(root, 'backups/app', setId, 'dump');
    const original = fs.readFileSync(dump);
    const flipped = Buffer.from(original);
    flipped[Math.floor(original.length / 2)] ^= 0x01;
    fs.writeFileSync(dump, flipped);
    try {
      const r = await cli('restore', '--repo', archive.url, '--to', cluster.url('tampered'), '--create', '--identity', alice.file);
      expect(r.exitCode, r.stderr).toBe(6);
      expect(await databases()).not.toContain('tampered');
      const v = await cli('verify', '--repo', archive.url);
      expect(v.exitCode).toBe(2);
      expect(v.stdout).toContain(`backups/app/${setId}/dump does not match its manifest`);
    } finally {
      fs.writeFileSync(dump, original);
    }
  });

  it('rekeys: new writes go to the new recipient, repo rekey re-wraps every stored file, the old identity reads nothing', async () => {
    const init = await cli('repo', 'init', '--repo', archive.url, '--encrypt-to', carol.recipient);
    expect(init.exitCode, init.stderr).toBe(0);
    expect(init.stdout).toContain('pgops repo rekey');
    fs.chmodSync(path.join(root, 'pgops-repo.json'), 0o644);
    const marker = JSON.parse(fs.readFileSync(path.join(root, 'pgops-repo.json'), 'utf8'));
    expect(marker.encryption).toMatchObject({ recipients: [carol.recipient], previous: [alice.recipient] });
    // before the rekey the old identity still reads the old files, the new one does not
    expect((await cli('restore', '--repo', archive.url, '--to', cluster.url('carol_early'), '--create', '--identity', carol.file)).exitCode).toBe(3);
    // an identity file may hold several keys: files written since the change are wrapped for carol only
    const both = path.join(work, 'both.txt');
    fs.writeFileSync(both, fs.readFileSync(alice.file, 'utf8') + fs.readFileSync(carol.file, 'utf8'), { mode: 0o600 });
    const plan = await cli('repo', 'rekey', '--repo', archive.url, '--identity', both, '--json');
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(jsonData(plan.stdout)).toMatchObject({ executed: false });
    const before = new Map(repoFiles().map((f) => [f, fs.readFileSync(f)]));
    const run = await cli('repo', 'rekey', '--repo', archive.url, '--identity', both, '--execute', '--json');
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    const done = jsonData(run.stdout);
    expect(done.rewrapped).toBeGreaterThan(3);
    expect(done.unreadable).toEqual([]);
    // the data after each header is unchanged: re-wrapped, not re-encrypted
    const dump = path.join(root, 'backups/app', setId, 'dump');
    const after = fs.readFileSync(dump);
    const tail = (b: Buffer) => b.subarray(b.indexOf('\n---') + 1).subarray(b.subarray(b.indexOf('\n---') + 1).indexOf('\n') + 1);
    expect(tail(after).equals(tail(before.get(dump)!))).toBe(true);
    expect(after.equals(before.get(dump)!)).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(root, 'pgops-repo.json'), 'utf8')).encryption.previous).toBeUndefined();
    // everything verifies, restores and fetches with the new identity, nothing with the old one
    const verify = await cli('verify', '--repo', archive.url);
    expect(verify.exitCode, verify.stdout).toBe(0);
    const deep = await cli('verify', '--repo', archive.url, '--deep', '--identity', carol.file);
    expect(deep.exitCode, deep.stdout).toBe(0);
    const r = await cli('restore', '--repo', archive.url, '--to', cluster.url('carol'), '--create', '--identity', carol.file);
    expect(r.exitCode, r.stderr).toBe(0);
    const old = await cli('restore', '--repo', archive.url, '--to', cluster.url('alice_late'), '--create', '--identity', alice.file);
    expect(old.exitCode).toBe(3);
    if (hasAge) expect(() => execFileSync('age', ['-d', '-i', alice.file, dump], { stdio: 'pipe' })).toThrow();
    if (hasAge) expect(execFileSync('age', ['-d', '-i', carol.file, dump], { maxBuffer: 1 << 30 }).subarray(0, 5).toString()).toBe('PGDMP');
  }, 120_000);
});

describe('a repository encrypted with a passphrase', () => {
  let repo: ArchiveRepo;
  let pass: string;
  let wrong: string;
  beforeAll(async () => {
    repo = await fileArchive();
    pass = path.join(work, 'pass');
    wrong = path.join(work, 'wrong');
    fs.writeFileSync(pass, 'correct horse battery staple\n', { mode: 0o600 });
    fs.writeFileSync(wrong, 'correct horse battery stapler\n', { mode: 0o600 });
  });
  afterAll(async () => repo?.cleanup());

  it('backs up and restores with the passphrase, and refuses a wrong one before writing or reading anything', async () => {
    const init = await cli('repo', 'init', '--repo', repo.url, '--encrypt-passphrase', '--passphrase-file', pass);
    expect(init.exitCode, init.stderr).toBe(0);
    const marker = fs.readFileSync(path.join(decodeURIComponent(repo.url.slice(7)), 'pgops-repo.json'), 'utf8');
    expect(marker).not.toContain('correct horse');
    const refused = await cli('backup', '--db', cluster.url('app'), '--repo', repo.url, '--passphrase-file', wrong);
    expect(refused.exitCode).toBe(3);
    expect(refused.stderr).toContain('is not the passphrase of repository');
    expect(fs.existsSync(path.join(decodeURIComponent(repo.url.slice(7)), 'backups'))).toBe(false);
    const b = await cli('backup', '--db', cluster.url('app'), '--repo', repo.url, '--passphrase-file', pass);
    expect(b.exitCode, b.stderr).toBe(0);
    const none = await cli('restore', '--repo', repo.url, '--to', cluster.url('pass_none'), '--create');
    expect(none.exitCode).toBe(3);
    const r = await cli('restore', '--repo', repo.url, '--to', cluster.url('pass_ok'), '--create', '--passphrase-file', pass);
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = await cluster.query<{ n: string }>(`SELECT count(*) AS n FROM ${CANARY_TABLE}`, [], 'pass_ok');
    expect(rows[0].n).toBe('2000');
    for (const f of filesBelow(decodeURIComponent(repo.url.slice(7))).map((x) => path.join(decodeURIComponent(repo.url.slice(7)), x))) expect(fs.readFileSync(f).includes(CANARY), f).toBe(false);
  }, 60_000);
});
