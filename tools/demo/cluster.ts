import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { $ } from 'zx';

// The demo's throwaway PostgreSQL cluster, started the way a person would at a shell: initdb, pg_ctl, psql, through
// zx (short commands; nothing here streams data). As root, the server programs run as postgres (initdb refuses root).
export interface DemoCluster {
  port: number;
  dir: string;
  url(database: string): string;
  /** runs SQL through psql; with one statement and -At, its output is the value */
  psql(sql: string, database?: string): Promise<string>;
  stop(): Promise<void>;
}

export const SUPERUSER = 'root';
const quiet = $({ quiet: true, cwd: os.tmpdir() });
const asServerUser = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];

// The folder of initdb and pg_ctl: pg_config's answer, else Debian's newest.
async function serverBin(): Promise<string> {
  const out = await quiet`pg_config --bindir`.nothrow();
  if (out.exitCode === 0 && fs.existsSync(path.join(out.stdout.trim(), 'pg_ctl'))) return out.stdout.trim();
  const debian = fs.existsSync('/usr/lib/postgresql') ? fs.readdirSync('/usr/lib/postgresql').sort().reverse() : [];
  if (debian.length) return `/usr/lib/postgresql/${debian[0]}/bin`;
  throw new Error('PostgreSQL server programs not found: apt-get install postgresql-15');
}

// A port nothing listens on, on 127.0.0.1.
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

// Starts a fresh cluster in a folder under the temp folder; stop() stops it and removes the folder.
export async function startDemoCluster(): Promise<DemoCluster> {
  const bin = await serverBin();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgops-pg-'));
  fs.chmodSync(dir, 0o755);
  if (asServerUser.length) await quiet`chown postgres:postgres ${dir}`;
  const data = path.join(dir, 'data');
  await quiet`${asServerUser} ${path.join(bin, 'initdb')} -D ${data} -U ${SUPERUSER} --auth=trust -E UTF8 --locale=C.UTF-8 -N`;
  const port = await freePort();
  fs.appendFileSync(path.join(data, 'postgresql.conf'), `\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\nfsync = off\n`);
  await quiet`${asServerUser} ${path.join(bin, 'pg_ctl')} -D ${data} -w -l ${path.join(dir, 'server.log')} start`;
  return {
    port,
    dir,
    url: (database) => `postgresql://${SUPERUSER}@127.0.0.1:${port}/${encodeURIComponent(database)}`,
    async psql(sql, database = 'postgres') {
      return (await quiet({ input: sql })`psql -X -q -At -v ON_ERROR_STOP=1 -h ${dir} -p ${port} -U ${SUPERUSER} -d ${database}`).stdout.trim();
    },
    async stop() {
      await quiet`${asServerUser} ${path.join(bin, 'pg_ctl')} -D ${data} -m immediate -w stop`.nothrow();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
