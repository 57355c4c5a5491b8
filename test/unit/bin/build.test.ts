import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import module from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = new URL('../../../', import.meta.url).pathname;
const LOADER = path.join(ROOT, 'bin/bundles.js');

describe('the bundles the bin runs', () => {
  let out: string;
  beforeAll(() => {
    out = fs.mkdtempSync(path.join(ROOT, 'tmp-build-'));
    execFileSync('node', [path.join(ROOT, 'bin/build.mjs'), '--outdir', out], { cwd: ROOT, stdio: 'pipe' });
  });
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  // `node -e` with the wal bundle loaded as bin/pgops.js loads it, then `then` run on its exports (b)
  const withWalBundle = (then: string, args: string[] = []) =>
    spawnSync('node', ['-e', `const b = { exports: require(${JSON.stringify(path.join(out, 'wal.cjs'))}) }; ${then}`, ...args], { cwd: ROOT, encoding: 'utf8' });

  it('builds the CLI from lib/ and runs a command', () => {
    expect(fs.existsSync(path.join(out, 'main.js'))).toBe(true);
    // a task is its own chunk, loaded only when that task runs
    expect(fs.readdirSync(out).some((f) => /^backup-.*\.js$/.test(f))).toBe(true);
    const version = execFileSync('node', ['-e', `import(${JSON.stringify(path.join(out, 'main.js'))}).then((m) => m.main(['--version']))`], { cwd: ROOT, encoding: 'utf8' });
    expect(version.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('loads every chunk of the CLI bundle (yargs, pg and execa are bundled in, the rest stays in node_modules)', () => {
    const chunks = fs.readdirSync(out).filter((f) => f.endsWith('.js'));
    expect(chunks.length).toBeGreaterThan(10);
    const r = spawnSync('node', ['--input-type=module', '-e', `for (const f of ${JSON.stringify(chunks.map((f) => path.join(out, f)))}) await import(f); process.stdout.write('loaded');`], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('loaded');
    const code = chunks.map((f) => fs.readFileSync(path.join(out, f), 'utf8')).join('\n');
    for (const bundled of ['yargs', 'pg', 'execa']) expect(code).not.toMatch(new RegExp(`from "${bundled}"`));
    expect(code).toMatch(/import\("@aws-sdk\/client-s3"\)|from "@aws-sdk\/client-s3"/);
  });

  it('builds wal push and fetch into one CommonJS file with its sources listed, holding nothing of the full parser', () => {
    const inputs = JSON.parse(fs.readFileSync(path.join(out, 'wal.inputs.json'), 'utf8')) as string[];
    expect(inputs).toContain('lib/tasks/wal/push.ts');
    expect(inputs).toContain('lib/tasks/wal/fetch.ts');
    // nothing of the full CLI
    expect(inputs).not.toContain('lib/cli/parser.ts');
    for (const p of inputs) expect(fs.existsSync(path.join(ROOT, p)), p).toBe(true);
    expect(inputs.some((p) => p.includes('node_modules/yargs'))).toBe(false);
    // what it loads on demand comes through require(), and each built-in is copied once (bin/build.mjs)
    const code = fs.readFileSync(path.join(out, 'wal.cjs'), 'utf8');
    expect(code).not.toMatch(/\bimport\(/);
    expect(code).not.toMatch(/__toESM\(require\("node:/);
    const r = withWalBundle("process.stdout.write(typeof b.exports.main + ' ' + typeof b.exports.runWalCommand);");
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('function function');
  });

  it('runs wal fetch and wal push from that bundle, with the exit codes and output of the full CLI', () => {
    const repo = fs.mkdtempSync(path.join(out, 'repo-'));
    const run = (...argv: string[]) => withWalBundle('b.exports.main(process.argv.slice(1));', argv);
    const fetch = () => run('wal', 'fetch', '000000010000000000000003', path.join(repo, 'dest'), '--repo', `file://${repo}`, '--system-id', '7');
    const nothing = fetch();
    expect(nothing.status).toBe(3);
    expect(JSON.parse(nothing.stderr.trim()).message).toContain('holds no WAL of database system 7');
    // an archive of system 7 that lacks the file: the end of the archive, which recovery takes as normal
    fs.mkdirSync(path.join(repo, 'wal/7'), { recursive: true });
    fs.writeFileSync(path.join(repo, 'wal/7/00000002.history.json'), '{}');
    const missing = fetch();
    expect(missing.status).toBe(5);
    expect(missing.stdout).toContain('000000010000000000000003 is not in file://');
    expect(fs.existsSync(path.join(repo, 'dest'))).toBe(false);
    const bad = run('wal', 'push', path.join(repo, 'not-wal'), '--repo', `file://${repo}`);
    expect(bad.status).toBe(3);
    expect(JSON.parse(bad.stderr.trim())).toMatchObject({ level: 'error', message: 'not-wal is not a WAL file name', exitCode: 3 });
    // a command line only the full CLI handles: nothing done, false
    const help = withWalBundle("b.exports.main(['wal', 'push', '--help']).then((done) => process.stdout.write(String(done)));");
    expect(help.stdout).toBe('false');
  });

  it('finds the wal bundle current only while none of its sources is newer', () => {
    const check = (dist: string) => spawnSync('node', ['-e', `process.stdout.write(String(require(${JSON.stringify(LOADER)}).currentWalBundle(${JSON.stringify(ROOT)}, ${JSON.stringify(dist)}) !== undefined))`], { encoding: 'utf8' }).stdout;
    expect(check(out)).toBe('true');
    const inputs = path.join(out, 'wal.inputs.json');
    const later = path.join(out, 'edited-later.ts');
    fs.writeFileSync(later, '');
    fs.utimesSync(later, new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));
    fs.writeFileSync(inputs, JSON.stringify([path.relative(ROOT, later)]));
    expect(check(out)).toBe('false');
    fs.writeFileSync(inputs, JSON.stringify(['lib/no-such-file.ts']));
    expect(check(out)).toBe('false');
  });

  describe('in an installed package (dist/ and bin/, no lib/)', () => {
    let pkg: string;
    const VERSION = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
    // node_modules resolves from inside the repository, as it does from an install's own node_modules
    const run = (args: string[], env: NodeJS.ProcessEnv = {}) => spawnSync('node', [path.join(pkg, 'bin/pgops.js'), ...args], { cwd: pkg, encoding: 'utf8', env: { ...process.env, ...env } });
    const current = (which: string) => spawnSync('node', ['-e', `process.stdout.write(String(require(${JSON.stringify(path.join(pkg, 'bin/bundles.js'))}).${which}(${JSON.stringify(pkg)})))`], { encoding: 'utf8' }).stdout;
    beforeAll(() => {
      pkg = fs.mkdtempSync(path.join(out, 'package-'));
      fs.mkdirSync(path.join(pkg, 'bin'));
      for (const f of ['pgops.js', 'bundles.js', 'package.json']) fs.copyFileSync(path.join(ROOT, 'bin', f), path.join(pkg, 'bin', f));
      fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
      fs.mkdirSync(path.join(pkg, 'dist'));
      for (const f of fs.readdirSync(out)) if (fs.statSync(path.join(out, f)).isFile()) fs.copyFileSync(path.join(out, f), path.join(pkg, 'dist', f));
      // older than anything: only a comparison with sources could call them stale, and there are none
      for (const f of fs.readdirSync(path.join(pkg, 'dist'))) fs.utimesSync(path.join(pkg, 'dist', f), new Date(0), new Date(0));
    });

    it('runs the bundles it ships, whatever their age, and never tsx', () => {
      expect(current('currentMainBundle')).toBe(path.join(pkg, 'dist/main.js'));
      expect(current('currentWalBundle')).toBe(path.join(pkg, 'dist/wal.cjs'));
      const v = run(['--version']);
      expect(v.stderr).toBe('');
      expect(v.stdout.trim()).toBe(VERSION);
    });

    it('says the installation is incomplete when dist/main.js is missing, instead of reaching for tsx', () => {
      const dist = path.join(pkg, 'dist/main.js');
      fs.renameSync(dist, `${dist}.away`);
      try {
        const r = run(['--version']);
        expect(r.status).toBe(2);
        expect(r.stderr).toBe(`pgops: ${dist} is missing: this installation of pgops is incomplete\nHINT: install it again (npm install -g pgops, or the tarball npm pack made: its prepack step builds dist/)\n`);
      } finally {
        fs.renameSync(`${dist}.away`, dist);
      }
    });

    it.skipIf(typeof (module as { enableCompileCache?: unknown }).enableCompileCache !== 'function')("keeps V8's compile cache of dist/ in the user's cache folder (Node >= 22.1), or none with NODE_DISABLE_COMPILE_CACHE", () => {
      const cache = fs.mkdtempSync(path.join(out, 'cache-'));
      const env = { XDG_CACHE_HOME: cache, NODE_COMPILE_CACHE: '' };
      expect(run(['--version'], { ...env, NODE_DISABLE_COMPILE_CACHE: '1' }).status).toBe(0);
      expect(fs.existsSync(path.join(cache, 'pgops'))).toBe(false);
      expect(run(['--version'], env).status).toBe(0);
      const folder = path.join(cache, 'pgops/node-compile-cache');
      expect(fs.readdirSync(folder).length).toBeGreaterThan(0);
      // wal push and fetch keep none: their bundle gains too little, and archive_command would write into the server user's home
      fs.rmSync(folder, { recursive: true });
      run(['wal', 'fetch', '000000010000000000000003', path.join(cache, 'dest'), '--repo', `file://${cache}`, '--system-id', '7'], env);
      expect(fs.existsSync(folder)).toBe(false);
    });
  });
});
