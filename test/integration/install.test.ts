import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binDir, startCluster, type Cluster } from '../support/cluster.ts';
import { tempDirs } from '../support/temp-dir.ts';
import { serverWritableDir, setArchiveCommand, sha256, switchWal, waitArchived } from '../support/wal.ts';

// pgops as an operator installs it: the tarball npm pack makes (its prepack step builds the bundles), installed with
// npm install -g into an empty prefix without dev dependencies, run from a folder outside the repository against a
// real cluster: a backup and a restore, and wal push as archive_command with wal fetch of what it archived.
// Packing and installing take some 20 s (from npm's cache; the registry only for what the cache lacks).
const ROOT = new URL('../../', import.meta.url).pathname;
const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
// what a clone holds that no package build needs (node_modules is linked in; tmp/ and old builds are scratch)
const NOT_COPIED = new Set(['node_modules', 'dist', '.git', 'tmp']);
const tempDir = tempDirs('pgops-install-');

let prefix: string;
let installed: string;
let tarball: string;
let cwd: string;
let cluster: Cluster;
let repoDir: string;
let repo: string;
let systemId: string;

// The environment of an operator's shell: no npm_* variables of a surrounding npm run, this node first on PATH.
function shellEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|PGOPS_|PG[A-Z]|DATABASE_URL|AWS_)/i.test(k)));
  return { ...env, PATH: [path.dirname(process.execPath), path.join(prefix, 'bin'), binDir(), '/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin'].join(path.delimiter), ...extra };
}

// Runs the installed pgops from cwd, as a shell finds it on PATH.
function pgops(args: string[], extra: NodeJS.ProcessEnv = {}) {
  return execa(path.join(prefix, 'bin/pgops'), args, { cwd, env: shellEnv(extra), extendEnv: false, reject: false });
}

// npm pack in a copy of the working tree: prepack rebuilds dist/, which must not happen under the tests that run the
// repository's own bin meanwhile.
async function pack(): Promise<string> {
  const src = path.join(tempDir(), 'src');
  fs.cpSync(ROOT, src, { recursive: true, filter: (from) => !(path.dirname(from) === path.resolve(ROOT) && (NOT_COPIED.has(path.basename(from)) || path.basename(from).startsWith('tmp-build-'))) });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'));
  const out = tempDir();
  await execa('npm', ['pack', '--pack-destination', out, '--silent'], { cwd: src, env: shellEnv(), extendEnv: false });
  const [file] = fs.readdirSync(out);
  return path.join(out, file);
}

beforeAll(async () => {
  const root = tempDir();
  // the server user runs the installed bin as archive_command: it must reach it
  fs.chmodSync(root, 0o755);
  prefix = path.join(root, 'prefix');
  cwd = path.join(root, 'elsewhere');
  fs.mkdirSync(cwd);
  repoDir = serverWritableDir('pgops-install-repo-');
  repo = `file://${repoDir}`;
  // wal_keep_size keeps the archived segments in pg_wal, to compare with what wal fetch gives back
  const started = startCluster({ settings: { wal_level: 'replica', archive_mode: 'on', wal_keep_size: '1GB' } });
  tarball = await pack();
  // a path, not a name: npm reads a bare dir/file.tgz as a GitHub repository
  await execa('npm', ['install', '--global', '--prefix', prefix, '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd, env: shellEnv(), extendEnv: false });
  installed = path.join(prefix, 'lib/node_modules', PACKAGE.name);
  cluster = await started;
  systemId = (await cluster.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()'))[0].id;
}, 300_000);

afterAll(async () => {
  await cluster?.stop();
  if (repoDir) fs.rmSync(repoDir, { recursive: true, force: true });
});

describe('the package npm pack makes, installed with npm install -g', () => {
  it('ships the bundles, the bin, the runbooks, the systemd units and the shrinkwrap, and nothing of the sources or the tests', () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    for (const needed of ['package.json', 'npm-shrinkwrap.json', 'README.md', 'bin/pgops.js', 'bin/bundles.js', 'bin/package.json', 'dist/main.js', 'dist/wal.cjs', 'runbooks/backup.md']) expect(files, needed).toContain(needed);
    const top = new Set(files.map((f) => f.split('/')[0]));
    // the systemd units and the config file's JSON Schema, where the tree has them (issue 13's other parts)
    const optional = ['deploy', 'pgops.config.schema.json'].filter((f) => fs.existsSync(path.join(ROOT, f)));
    expect([...top].sort()).toEqual(['README.md', 'bin', 'dist', 'npm-shrinkwrap.json', 'package.json', 'runbooks', ...optional].sort());
    expect(files.filter((f) => /^(test|bench|lib|scripts|tmp|tools)\//.test(f) || f === 'bin/build.mjs' || f === 'package-lock.json')).toEqual([]);
  });

  it('installs the runtime dependencies only: no tsx, no TypeScript, no esbuild', () => {
    expect(fs.existsSync(path.join(installed, 'dist/main.js'))).toBe(true);
    expect(fs.existsSync(path.join(installed, 'lib'))).toBe(false);
    const modules = fs.readdirSync(path.join(installed, 'node_modules'));
    expect(modules).toContain('pg');
    expect(modules).toContain('@aws-sdk');
    for (const dev of ['tsx', 'typescript', 'esbuild', 'vitest', 's3rver']) expect(modules, dev).not.toContain(dev);
    // npm puts a global package's dependencies under it: nothing else in the prefix could lend tsx
    expect(fs.readdirSync(path.join(prefix, 'lib/node_modules'))).toEqual([PACKAGE.name]);
  });

  it('answers --version and --help from a folder outside the repository', async () => {
    const v = await pgops(['--version']);
    expect(v.exitCode, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(PACKAGE.version);
    const help = await pgops(['backup', '--help']);
    expect(help.exitCode, help.stderr).toBe(0);
    expect(help.stdout).toContain('--repo');
    expect(help.stderr).toBe('');
  });

  it('backs up a database into a file repository and restores it into a new database', async () => {
    await cluster.query('CREATE DATABASE shop');
    await cluster.query('CREATE TABLE orders (id int PRIMARY KEY, item text NOT NULL)', [], 'shop');
    await cluster.query(`INSERT INTO orders SELECT g, 'item ' || g FROM generate_series(1, 500) g`, [], 'shop');
    // the repository's owner initialises it: the server user, whose archive_command writes into it
    const init = spawnSync('runuser', ['-u', 'postgres', '--', path.join(prefix, 'bin/pgops'), 'repo', 'init', '--repo', repo], { cwd: '/', env: shellEnv(), encoding: 'utf8' });
    expect(init.status, init.stderr).toBe(0);
    const backup = await pgops(['backup', '--db', cluster.url('shop'), '--repo', repo]);
    expect(backup.exitCode, backup.stderr).toBe(0);
    const restore = await pgops(['restore', '--repo', repo, '--to', cluster.url('shop_restored'), '--create']);
    expect(restore.exitCode, restore.stderr).toBe(0);
    const rows = await cluster.query<{ n: number; item: string }>(`SELECT count(*)::int AS n, max(item) FILTER (WHERE id = 377) AS item FROM orders`, [], 'shop_restored');
    expect(rows).toEqual([{ n: 500, item: 'item 377' }]);
  });

  it('archives WAL as archive_command and gives the segment back byte for byte with wal fetch', async () => {
    // the command line an operator writes into postgresql.conf: the installed bin, found through its shebang's node
    await setArchiveCommand(cluster, `PATH=${path.dirname(process.execPath)}:/usr/bin:/bin ${path.join(prefix, 'bin/pgops')} wal push %p --repo ${repo}`);
    await cluster.query(`INSERT INTO orders SELECT g, 'more' FROM generate_series(501, 5000) g`, [], 'shop');
    const segment = await switchWal(cluster);
    await waitArchived(cluster, segment);
    const original = fs.readFileSync(path.join(cluster.dir, 'data/pg_wal', segment));
    const dest = path.join(cwd, 'fetched');
    const fetched = await pgops(['wal', 'fetch', segment, dest, '--repo', repo, '--system-id', systemId]);
    expect(fetched.exitCode, fetched.stderr).toBe(0);
    expect(sha256(fs.readFileSync(dest))).toBe(sha256(original));
    // a segment the archive does not hold: the end of the archive, as restore_command reports it
    const missing = await pgops(['wal', 'fetch', 'FFFFFFFF0000000000000001', path.join(cwd, 'none'), '--repo', repo, '--system-id', systemId]);
    expect(missing.exitCode, missing.stderr).toBe(5);
  });

  it('starts about as fast as node itself (measured, not asserted)', () => {
    const bin = path.join(prefix, 'bin/pgops');
    const runs = {
      "node -e ''": [process.execPath, '-e', ''],
      'pgops --version': [bin, '--version'],
      'pgops wal fetch <missing>': [bin, 'wal', 'fetch', 'FFFFFFFF0000000000000001', path.join(cwd, 'none'), '--repo', repo, '--system-id', systemId],
    };
    const samples = Object.fromEntries(Object.keys(runs).map((k) => [k, [] as number[]]));
    // interleaved, after one round that warms the page cache and the compile cache
    for (let round = 0; round <= 5; round++) {
      for (const [label, [file, ...args]] of Object.entries(runs)) {
        const t = process.hrtime.bigint();
        const r = spawnSync(file, args, { cwd, env: shellEnv(), stdio: 'ignore' });
        const ms = Number(process.hrtime.bigint() - t) / 1e6;
        expect(r.status, label).toBe(label.includes('missing') ? 5 : 0);
        if (round > 0) samples[label].push(ms);
      }
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];
    const lines = Object.entries(samples).map(([label, s]) => `${label.padEnd(26)} ${median(s).toFixed(1).padStart(6)} ms median of ${s.length} (${s.map((x) => x.toFixed(0)).join(' ')})`);
    console.log(`start-up of the installed package, Node ${process.version}:\n${lines.join('\n')}`);
  });
});
