import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, parseDbUrl } from '../../lib/pg/connection.ts';
import { BIN, runCli, spawnCli } from '../support/cli.ts';
import { binDir, startCluster, type Cluster } from '../support/cluster.ts';
import { initTestRepo } from '../support/repo.ts';
import { tempDirs } from '../support/temp-dir.ts';

// libpq's conventions as psql users rely on them, on one real cluster with TLS on: sslmode, the password file, service
// files, the keyword/value form, and peer authentication over the default socket as the postgres OS user.
const tempDir = tempDirs('pgops-libpq-');
const PASSWORD = 'app:pw\\1';
let cluster: Cluster;
let certs: string;
let home: string;
let repoUrl: string;
let tmpSocket: string;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: certs, stdio: ['ignore', 'pipe', 'pipe'] });
}

// A CA and a server certificate it signs for other.example (not for 127.0.0.1); a second CA that signed nothing here.
function makeCertificates(): void {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const ca of ['ca', 'wrong-ca']) {
    openssl(['req', '-x509', ...ec, '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=pgops test ${ca}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  }
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=other.example']);
  fs.writeFileSync(path.join(certs, 'ext'), 'subjectAltName=DNS:other.example\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'ext']);
  fs.chmodSync(path.join(certs, 'server.key'), 0o600);
  execFileSync('chown', ['postgres:postgres', path.join(certs, 'server.key')]);
}

// Whether pgops's own connection for this --db (and environment) uses TLS, as the server's pg_stat_ssl says.
async function usesTls(db: string, env: NodeJS.ProcessEnv = {}): Promise<boolean> {
  const client = await connect(parseDbUrl(db, { HOME: home, ...env }));
  try {
    return (await client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')).rows[0].ssl;
  } finally {
    await client.end();
  }
}

const tcp = () => `host=127.0.0.1 port=${cluster.port} user=root dbname=postgres`;
const ca = () => path.join(certs, 'ca.crt');

beforeAll(async () => {
  certs = tempDir();
  fs.chmodSync(certs, 0o755);
  makeCertificates();
  cluster = await startCluster({ settings: { ssl: 'on', ssl_cert_file: path.join(certs, 'server.crt'), ssl_key_file: path.join(certs, 'server.key'), log_connections: 'on' } });
  // peer for the postgres OS user's role, a password for app over TCP, trust for the rest; read at the restart
  const data = path.join(cluster.dir, 'data');
  fs.writeFileSync(path.join(data, 'pg_hba.conf'), [
    'local all postgres peer',
    'local all all trust',
    'host all app 127.0.0.1/32 scram-sha-256',
    'host all all 127.0.0.1/32 trust',
  ].join('\n') + '\n');
  execFileSync('runuser', ['-u', 'postgres', '--', path.join(binDir(), 'pg_ctl'), '-D', data, '-w', '-m', 'fast', 'restart', '-l', path.join(cluster.dir, 'server.log')], { stdio: 'ignore' });
  await cluster.query(`CREATE ROLE app LOGIN SUPERUSER PASSWORD '${PASSWORD.replace(/'/g, "''")}'`);
  await cluster.query('CREATE ROLE postgres LOGIN SUPERUSER');
  await cluster.query('CREATE DATABASE app');
  cluster.psql('CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 10);', 'app');
  home = tempDir();
  repoUrl = `file://${tempDir()}`;
  await initTestRepo(repoUrl);
  // the server's socket where psql's default list finds it (the cluster's own folder is not on that list)
  tmpSocket = `/tmp/.s.PGSQL.${cluster.port}`;
  fs.symlinkSync(path.join(cluster.dir, `.s.PGSQL.${cluster.port}`), tmpSocket);
});

afterAll(async () => {
  if (tmpSocket) fs.rmSync(tmpSocket, { force: true });
  await cluster?.stop();
});

// The connections pg_dump and pg_dumpall (application_name pgops) made while run() ran, and whether each used TLS,
// as the server's log_connections lines say.
async function childConnections(run: () => Promise<unknown>): Promise<boolean[]> {
  const log = path.join(cluster.dir, 'server.log');
  const from = fs.statSync(log).size;
  await run();
  const text = fs.readFileSync(log).subarray(from).toString('utf8');
  // exactly pgops: pgops's own connections are "pgops backup", "pgops backup fingerprints"
  return [...text.matchAll(/connection authorized: .*application_name=pgops( SSL enabled.*)?$/gm)].map((m) => m[1] !== undefined);
}

// What a run printed on stderr, JSON log lines read back into their messages and hints.
function said(stderr: string): string {
  return stderr.split('\n').map((line) => {
    try {
      const e = JSON.parse(line) as { message?: string; hint?: string };
      return `${e.message ?? ''}\n${e.hint ?? ''}`;
    } catch {
      return line;
    }
  }).join('\n');
}

// A password file of these lines, with this mode.
function pgpass(lines: string[], mode = 0o600): string {
  const file = path.join(tempDir(), 'pgpass');
  fs.writeFileSync(file, lines.join('\n') + '\n', { mode });
  fs.chmodSync(file, mode);
  return file;
}

describe('sslmode as libpq', () => {
  it('verify-ca accepts a certificate for another host name, which verify-full refuses', async () => {
    expect(await usesTls(`${tcp()} sslmode=verify-ca sslrootcert=${ca()}`)).toBe(true);
    const refused = usesTls(`${tcp()} sslmode=verify-full sslrootcert=${ca()}`);
    await expect(refused).rejects.toMatchObject({ code: 3, message: expect.stringMatching(/^cannot connect to .*127\.0\.0\.1.*does not match certificate's altnames/), hint: expect.stringContaining('verify-ca') });
    // verify-full passes when the name connected to is the certificate's (hostaddr gives the address)
    expect(await usesTls(`host=other.example hostaddr=127.0.0.1 port=${cluster.port} user=root dbname=postgres sslmode=verify-full sslrootcert=${ca()}`)).toBe(true);
  });
  it('verify-ca refuses a chain another CA signed, and says which CA it checked against', async () => {
    await expect(usesTls(`${tcp()} sslmode=verify-ca sslrootcert=${path.join(certs, 'wrong-ca.crt')}`)).rejects.toMatchObject({ code: 3, hint: expect.stringContaining('not signed by the CA in sslrootcert') });
  });
  it('prefer (the default) and require connect with TLS, disable without, as do the PG* variables', async () => {
    expect(await usesTls(tcp())).toBe(true);
    expect(await usesTls(`${tcp()} sslmode=require`)).toBe(true);
    expect(await usesTls(`${tcp()} sslmode=disable`)).toBe(false);
    expect(await usesTls(tcp(), { PGSSLMODE: 'disable' })).toBe(false);
    expect(await usesTls(`postgresql://root@127.0.0.1:${cluster.port}/postgres?sslmode=disable`)).toBe(false);
  });
  it('prefer falls back to a plain connection when the certificate check fails, as libpq does', async () => {
    const h = tempDir();
    fs.mkdirSync(path.join(h, '.postgresql'));
    fs.copyFileSync(path.join(certs, 'wrong-ca.crt'), path.join(h, '.postgresql', 'root.crt'));
    expect(await usesTls(tcp(), { HOME: h })).toBe(false);
    // require with a root certificate checks the chain, as verify-ca: no fallback
    await expect(usesTls(`${tcp()} sslmode=require`, { HOME: h })).rejects.toMatchObject({ code: 3 });
  });
  it('hands pg_dump and pg_dumpall the same settings: from --db, from PGSSLMODE and PGSSLROOTCERT', async () => {
    const backup = (db: string, env: NodeJS.ProcessEnv = {}) => async () => {
      const r = await runCli(['backup', '--db', `host=127.0.0.1 port=${cluster.port} user=root dbname=app ${db}`, '--repo', repoUrl], { HOME: home, ...env });
      expect(r.stderr).not.toMatch(/deprecat|SECURITY WARNING/i);
      expect(r.exitCode, r.stderr).toBe(0);
    };
    // without them the children would use prefer, which takes TLS here, or find no root certificate for verify-ca
    expect(await childConnections(backup('sslmode=disable'))).toEqual([false, false]);
    expect(await childConnections(backup('', { PGSSLMODE: 'disable' }))).toEqual([false, false]);
    expect(await childConnections(backup(`sslmode=verify-ca sslrootcert=${ca()}`))).toEqual([true, true]);
    expect(await childConnections(backup('', { PGSSLMODE: 'verify-ca', PGSSLROOTCERT: ca() }))).toEqual([true, true]);
    const none = await runCli(['backup', '--db', `host=127.0.0.1 port=${cluster.port} user=root dbname=app sslmode=verify-ca`, '--repo', repoUrl], { HOME: home });
    expect(none.exitCode).toBe(3);
    expect(said(none.stderr)).toContain(`root certificate file "${path.join(home, '.postgresql', 'root.crt')}" does not exist`);
  });
});

describe('passwords', () => {
  const appDb = () => `host=127.0.0.1 port=${cluster.port} user=app dbname=app`;
  it('says plainly that no password was found, naming .pgpass and PGPASSWORD', async () => {
    const r = await runCli(['backup', '--db', appDb(), '--repo', repoUrl], { HOME: home });
    expect(r.exitCode).toBe(3);
    expect(said(r.stderr)).toContain('the server asks for a password for user "app" and none was found: set it in ~/.pgpass (or PGPASSFILE) or PGPASSWORD');
    expect(said(r.stderr)).toContain(`add a line 127.0.0.1:${cluster.port}:app:app:<password> to ${path.join(home, '.pgpass')}`);
    expect(r.stderr).not.toContain('SCRAM');
  });
  it('reads the password from PGPASSFILE for pgops and its children, with libpq\'s escapes', async () => {
    const file = pgpass([`127.0.0.1:${cluster.port}:other:app:wrong`, `127.0.0.1:${cluster.port}:app:app:${PASSWORD.replace(/[\\:]/g, '\\$&')}`]);
    // its own process: a driver's deprecation warning would be printed on its stderr
    const r = await spawnCli(['backup', '--db', appDb(), '--repo', repoUrl, '--json'], { HOME: home, PGPASSFILE: file });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).not.toContain(PASSWORD);
    expect(r.all).not.toMatch(/deprecat|"level":"warn"/i);
  });
  it('passes over a password file others may read, with libpq\'s warning', async () => {
    const file = pgpass([`*:*:*:app:${PASSWORD.replace(/[\\:]/g, '\\$&')}`], 0o644);
    const r = await spawnCli(['backup', '--db', appDb(), '--repo', repoUrl], { HOME: home, PGPASSFILE: file });
    expect(r.exitCode).toBe(3);
    expect(said(r.all)).toContain(`password file "${file}" has group or world access; permissions should be u=rw (0600) or less`);
    expect(r.all).toContain('none was found');
  });
  it('takes host, port, user, database and sslmode from a service file; the password from .pgpass', async () => {
    const services = path.join(tempDir(), 'services.conf');
    fs.writeFileSync(services, `[appsvc]\nhost=127.0.0.1\nport=${cluster.port}\nuser=app\ndbname=app\nsslmode=verify-ca\nsslrootcert=${ca()}\n`);
    fs.writeFileSync(path.join(home, '.pgpass'), `127.0.0.1:${cluster.port}:app:app:${PASSWORD.replace(/[\\:]/g, '\\$&')}\n`, { mode: 0o600 });
    try {
      const children = await childConnections(async () => {
        const r = await runCli(['backup', '--db', 'service=appsvc', '--repo', repoUrl], { HOME: home, PGSERVICEFILE: services });
        expect(r.exitCode, r.stderr).toBe(0);
      });
      expect(children).toEqual([true, true]);
      expect(await usesTls('', { PGSERVICE: 'appsvc', PGSERVICEFILE: services })).toBe(true);
      const unknown = await runCli(['backup', '--db', 'service=nope', '--repo', repoUrl], { HOME: home, PGSERVICEFILE: services });
      expect(unknown.exitCode).toBe(3);
      expect(said(unknown.stderr)).toContain(`service "nope" is not defined in ${services} or /etc/postgresql-common/pg_service.conf`);
    } finally {
      fs.rmSync(path.join(home, '.pgpass'));
    }
  });
});

describe('the Unix socket', () => {
  it('is the default host: the postgres OS user backs up with peer authentication and no host given', async () => {
    const repo = tempDir();
    execFileSync('chown', ['postgres:postgres', repo]);
    await initTestRepo(`file://${repo}`);
    const r = await execa('runuser', ['-u', 'postgres', '--', process.execPath, BIN, 'backup', '--db', 'app', '--repo', `file://${repo}`], {
      reject: false, all: true, extendEnv: false, env: { PATH: process.env.PATH, PGPORT: String(cluster.port) },
    });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toContain(`postgres@:${cluster.port}/app?host=/tmp`);
  });
  it('takes host= as a socket folder, where peer authentication refuses another OS user', async () => {
    const r = await runCli(['backup', '--db', `host=${cluster.dir} port=${cluster.port} dbname=app user=postgres`, '--repo', repoUrl], { HOME: home });
    expect(r.exitCode).toBe(3);
    expect(said(r.stderr)).toContain('Peer authentication failed for user "postgres"');
  });
});
