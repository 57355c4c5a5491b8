import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followPage } from '../../tools/runbook-drill/follow.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { clusterHost, drillScratch, recordPassed } from '../support/drill.ts';
import { nightlyBackup, pgbench, restoreBinds, tableContents } from '../support/drill-restores.ts';
import { tempFileRepo } from '../support/repo.ts';

// runbooks/restore-database.md as a drill: a database "app" owned by its own role, with pgbench's tables (made and
// worked on by pgbench itself) and a table of ours, backed up twice into a folder repository; then the database is
// dropped by mistake. The page restores the newest set onto a second, empty server (<new-host>) with its roles; its
// verify step compares every table's row count with the manifest, and here every table's content must be what the
// source held at the newest set's snapshot.

const FAILURE = 'the database is dropped by mistake; the newest set restored onto a second, empty server with its roles';
const DB = 'app';

describe('runbooks/restore-database.md, drilled', () => {
  let source: Cluster;
  let newHost: Cluster;
  let repo: { root: string; url: string };
  let scratch: string;
  let newest: string;
  let atSnapshot: Record<string, string>;

  beforeAll(async () => {
    source = await startCluster();
    newHost = await startCluster();
    repo = await tempFileRepo('pgops-drill-restore-database-');
    scratch = drillScratch('restore-database');
    source.psql(`CREATE ROLE app_owner LOGIN; CREATE ROLE app_reader LOGIN; CREATE DATABASE ${DB} OWNER app_owner; ALTER DATABASE ${DB} SET work_mem = '8MB';`);
    // pgbench's schema and rows, then a few of its transactions (updates, history rows) between the two sets
    pgbench(source, DB, ['-i', '-s', '1', '-q']);
    source.psql(
      `ALTER TABLE pgbench_accounts OWNER TO app_owner;
       CREATE TABLE public.account_notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, aid int NOT NULL REFERENCES pgbench_accounts, note text NOT NULL);
       ALTER TABLE public.account_notes OWNER TO app_owner;
       INSERT INTO account_notes (aid, note) SELECT g * 97, 'Kundennotiz ' || g || ' – überprüft' FROM generate_series(1, 500) g;
       GRANT SELECT ON ALL TABLES IN SCHEMA public TO app_reader;`,
      DB,
    );
    await nightlyBackup(source.url(DB), repo.url);
    pgbench(source, DB, ['-n', '-c', '1', '-t', '100']);
    source.psql(`INSERT INTO account_notes (aid, note) SELECT g, 'after the first set ' || g FROM generate_series(1, 50) g;`, DB);
    newest = await nightlyBackup(source.url(DB), repo.url);
    atSnapshot = await tableContents(source.url(DB));
    // written after the newest snapshot: the page says it is lost
    source.psql(`INSERT INTO account_notes (aid, note) VALUES (1, 'after the newest set');`, DB);
  }, 120_000);

  afterAll(async () => {
    await source?.stop();
    await newHost?.stop();
    if (repo) fs.rmSync(repo.root, { recursive: true, force: true });
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('fails as the page says: the database is gone, the new server has neither it nor its roles', async () => {
    await source.query(`DROP DATABASE ${DB} WITH (FORCE)`);
    expect(() => source.psql('SELECT 1', DB)).toThrow(/database "app" does not exist/);
    expect(await newHost.query(`SELECT rolname FROM pg_roles WHERE rolname LIKE 'app\\_%'`)).toEqual([]);
  });

  it('following the page brings the database back on the new server, as it was at the newest snapshot', async () => {
    const r = await followPage({
      page: 'restore-database.md',
      host: clusterHost(source, { newHost: { port: newHost.port }, fileRepo: repo.root }),
      cwd: scratch,
      binds: restoreBinds(repo.url, DB, '1-pick-the-set:1'),
      judgements: {
        '3-after-the-restore:1': { skip: "the drill's servers trust 127.0.0.1: no role of the set logs in with a password" },
        'how-to-verify:1': { run: true, why: 'the repository is a folder on this host' },
      },
    });
    expect(r.runs.find((x) => x.id === '2-restore:1')?.ran).toContain(`--backup ${newest} `);
    expect(r.verifyOutput).toContain('every table has the row count the manifest lists');
    // every table's rows as they were at the snapshot: pgbench's and ours; the row written after it is not there
    expect(await tableContents(newHost.url(DB))).toEqual(atSnapshot);
    expect(Object.keys(atSnapshot)).toEqual(expect.arrayContaining(['public.pgbench_accounts', 'public.pgbench_history', 'public.account_notes']));
    // the roles, the owner, the grants and the database's settings came back with it
    const [db] = await newHost.query<{ owner: string; settings: string[] }>(
      `SELECT pg_get_userbyid(d.datdba) AS owner, s.setconfig AS settings FROM pg_database d LEFT JOIN pg_db_role_setting s ON s.setdatabase = d.oid AND s.setrole = 0 WHERE d.datname = $1`,
      [DB],
    );
    expect(db).toEqual({ owner: 'app_owner', settings: ['work_mem=8MB'] });
    const [grant] = await newHost.query<{ reader: boolean; owner: string }>(
      `SELECT has_table_privilege('app_reader', 'public.account_notes', 'SELECT') AS reader, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'public.account_notes'::regclass`,
      [],
      DB,
    );
    expect(grant).toEqual({ reader: true, owner: 'app_owner' });
    recordPassed(FAILURE, r);
  });
});
