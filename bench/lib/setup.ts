import { execFileSync } from 'node:child_process';
import pg from 'pg';

// The folder of the PostgreSQL programs the clusters run; the bare tools are run from here, not via Debian's wrapper.
export function pgBinDir(): string {
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('pg_config not found: install the PostgreSQL server packages (Debian/Ubuntu: apt-get install postgresql-15)');
  }
}

// The commit the measured pgops is at, with "+changes" when lib/ or bin/ differ from it.
export function gitCommit(root: string): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'lib', 'bin'], { cwd: root, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

// Our environment without PG*, PGOPS_*, AWS_* and DATABASE_URL: every child gets it, so only the flags count.
export function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(PG|PGOPS_|AWS_)/.test(k) && k !== 'DATABASE_URL'));
}

// Runs one statement on a client of its own: the cluster harness caches a client per database name, which a
// later DROP DATABASE of that name would leave broken (or be refused because of).
export async function queryIn<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}
