import type pg from 'pg';
import type { ManifestFile, TableFingerprint } from '../../manifest.ts';
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
export async function runSet(req: SetRequest): Promise<WrittenSet> {
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
    const mode = o.fingerprint as FingerprintMode;
    // a second connection joins the snapshot: the catalogue and the fingerprints are read while pg_dump runs
    fpClient = await connect(req.info, 'pgops backup fingerprints');
    await importSnapshot(fpClient, snapshot.id, o.lockWaitTimeout as number);
    // the counts first: they need CPU, which is still idle while pg_dump reads the catalogue before its first COPY
    const snapshotReads = (async () => {
      const tables = await tableFingerprints(fpClient!, mode);
      const inventory = await catalogInventory(fpClient!);
      const databaseProperties = await readDatabaseProperties(fpClient!);
      return { inventory, tables, databaseProperties };
    })();
    snapshotReads.catch(() => {});
    const dumpFiles = await dumpInto({
      pgDump: req.pgDump,
      connString: req.connString,
      env: req.env,
      snapshotId: snapshot.id,
      format: o.format as 'custom' | 'directory',
      jobs: o.jobs as number,
      compress: o.compress as string | undefined,
      lockWaitTimeoutMs: o.lockWaitTimeout as number,
      repo,
      prefix,
      tmpDir: o.tmpDir as string | undefined,
      signal: ctx.signal,
      onProgress: req.onProgress,
      sizeHint: 2 * dbSize,
    });
    const globals = await globalsDone;
    const { inventory, tables, databaseProperties } = await snapshotReads;
    await req.client.query('COMMIT');
    return {
      snapshot,
      files: [globals, ...dumpFiles],
      tables,
      inventory,
      databaseProperties,
      async commit(name, manifest) {
        try {
          ctx.signal.throwIfAborted();
          req.lease?.assertHeld();
          // never over a manifest already there: a set, once committed, stays as it was
          await repo.putBytes(prefix + name, manifest, { ifAbsent: true });
        } catch (err) {
          throw await cleanup(err);
        }
        await req.lease?.release();
      },
    };
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
