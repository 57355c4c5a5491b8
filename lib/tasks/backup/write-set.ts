import type pg from 'pg';
import type { ManifestFile, TableFingerprint } from '../../repo/manifest.ts';
import type { PgBinary } from '../../pg/binaries.ts';
import { connect, type ConnInfo } from '../../pg/connection.ts';
import { tableFingerprints, type FingerprintMode } from '../../pg/fingerprint.ts';
import { readDatabaseProperties, type DatabaseProperties } from '../../pg/database-properties.ts';
import { catalogInventory, type Inventory } from '../../pg/inventory.ts';
import type { Repo } from '../../repo/repo.ts';
import type { TaskContext } from '../../task.ts';
import { removeUnfinished } from './cleanup.ts';
import { dumpGlobals, dumpInto } from './dump.ts';
import type { HeldLease } from './lease.ts';
import { exportSnapshot, importSnapshot, type Snapshot } from './snapshot.ts';

export interface SetRequest {
  ctx: TaskContext<'backup'>;
  repo: Repo;
  /** holds the advisory lock; exports the snapshot */
  client: pg.Client;
  info: ConnInfo;
  prefix: string;
  pgDump: PgBinary;
  pgDumpall: PgBinary;
  env: NodeJS.ProcessEnv;
  connString: string;
  onProgress: (bytes: number) => void;
  /** the set's lease (lease.ts): stopped before a failed set is removed, released once the manifest is committed */
  lease?: HeldLease;
}

export interface WrittenSet {
  snapshot: Snapshot;
  files: ManifestFile[];
  tables: TableFingerprint[];
  inventory: Inventory;
  databaseProperties: DatabaseProperties;
  /** writes the manifest, the commit marker, then releases the lease; on failure the set is removed like any other failure */
  commit(name: string, manifest: string): Promise<void>;
}

// Writes every file of a set except the manifest: globals, then the dump and the fingerprints in one snapshot.
// On any failure (or abort) whatever was written under the prefix is removed before the error propagates; when
// that cannot be done (the storage is gone), the error says what may be left (cleanup.ts).
export async function writeSet(req: SetRequest): Promise<WrittenSet> {
  const { ctx, repo, prefix } = req;
  const o = ctx.options;
  const cleanup = (err: unknown) => removeUnfinished(repo, prefix, err, ctx.log, req.lease);
  let fpClient: pg.Client | undefined;
  let globalsDone: Promise<ManifestFile> | undefined;
  try {
    // the cluster's globals are dumped while pg_dump runs: they do not depend on the snapshot
    globalsDone = dumpGlobals({ pgDumpall: req.pgDumpall, connString: req.connString, env: req.env, repo, prefix, signal: ctx.signal });
    globalsDone.catch(() => {});
    const snapshot = await exportSnapshot(req.client);
    // a dump's text form can outgrow the data on disk (bytea as hex doubles): twice the size is the bound
    const dbSize = Number((await req.client.query<{ n: string }>('SELECT pg_database_size(current_database())::text AS n')).rows[0].n);
    ctx.log.debug('snapshot', `exported snapshot ${snapshot.id} at LSN ${snapshot.lsn}`);
    // a second connection joins the snapshot: the catalogue and the fingerprints are read while pg_dump runs
    fpClient = await connect(req.info, 'pgops backup fingerprints');
    await importSnapshot(fpClient, snapshot.id, o.lockWaitTimeout);
    const snapshotReads = readSnapshot(fpClient, o.fingerprint);
    snapshotReads.catch(() => {});
    const dumpFiles = await dumpInto({
      pgDump: req.pgDump,
      connString: req.connString,
      env: req.env,
      snapshotId: snapshot.id,
      format: o.format,
      jobs: o.jobs,
      compress: o.compress,
      lockWaitTimeoutMs: o.lockWaitTimeout,
      repo,
      prefix,
      tmpDir: o.tmpDir,
      signal: ctx.signal,
      onProgress: req.onProgress,
      sizeHint: 2 * dbSize,
    });
    const globals = await globalsDone;
    const reads = await snapshotReads;
    await req.client.query('COMMIT');
    return { snapshot, files: [globals, ...dumpFiles], ...reads, commit: (name, manifest) => commitManifest(req, name, manifest, cleanup) };
  } catch (err) {
    // a globals dump still running would write after the cleanup: let it end (it stops on abort) first
    await globalsDone?.catch(() => {});
    await req.client.query('ROLLBACK').catch(() => {});
    if (fpClient) {
      // stop a count still scanning a big table: the backup has failed already
      await req.client.query('SELECT pg_cancel_backend($1)', [(fpClient as unknown as { processID: number }).processID]).catch(() => {});
    }
    throw await cleanup(err);
  } finally {
    await fpClient?.end().catch(() => {});
  }
}

// What the fingerprint connection reads inside the dump's snapshot, while pg_dump runs.
async function readSnapshot(client: pg.Client, mode: FingerprintMode): Promise<Pick<WrittenSet, 'tables' | 'inventory' | 'databaseProperties'>> {
  // the counts first: they need CPU, which is still idle while pg_dump reads the catalogue before its first COPY
  const tables = await tableFingerprints(client, mode);
  const inventory = await catalogInventory(client);
  const databaseProperties = await readDatabaseProperties(client);
  return { tables, inventory, databaseProperties };
}

// Publishes the manifest, which makes the set exist, then releases the lease. A failure removes the set.
async function commitManifest(req: SetRequest, name: string, manifest: string, cleanup: (err: unknown) => Promise<unknown>): Promise<void> {
  try {
    req.ctx.signal.throwIfAborted();
    req.lease?.assertHeld();
    // never over a manifest already there: a set, once committed, stays as it was
    await req.repo.putBytes(req.prefix + name, manifest, { ifAbsent: true });
  } catch (err) {
    throw await cleanup(err);
  }
  await req.lease?.release();
}
