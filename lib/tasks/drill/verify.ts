import type { DrillCheck } from '../../repo/drill-reports.ts';
import type { Manifest } from '../../repo/manifest.ts';
import type { Logger } from '../../log.ts';
import { connect, type ConnInfo } from '../../pg/connection.ts';
import { relationKey, STABLE_TEXT_SETTINGS, tableFingerprints } from '../../pg/fingerprint.ts';
import { readDatabaseProperties } from '../../pg/database-properties.ts';
import { catalogInventory } from '../../pg/inventory.ts';
import { amcheckIndexes } from './amcheck.ts';
import { checkAssertions, type Assertion } from './assertions.ts';
import { comparableMode, compareInventory, compareProperties, compareSequences, compareTables } from './compare.ts';

// Reads the restored database the way the backup read the original (same snapshot rules, same settings) and
// compares; then amcheck and the user's assertions.
export async function verifyRestored(req: { target: ConnInfo; manifest: Manifest; /** properties the restore left out (--skip-unavailable-properties) */ notReproduced: string[]; assertions: Assertion[]; amcheck: boolean; statementTimeoutMs: number; log: Logger; signal: AbortSignal; jobs: number }): Promise<DrillCheck[]> {
  const client = await connect(req.target, 'pgops drill');
  // nobody writes to the scratch database: extra connections see the same data and share the hashing
  const helpers = await Promise.all(Array.from({ length: Math.max(0, req.jobs - 1) }, () => connect(req.target, 'pgops drill')));
  // SIGTERM: closing the connection ends the running query, and the drill's cleanup drops the scratch database
  const stop = () => void client.end().catch(() => {});
  req.signal.addEventListener('abort', stop);
  try {
    req.log.info('compare', 'comparing the restored database with the fingerprints and inventory taken at backup time');
    for (const c of [client, ...helpers]) {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      for (const s of STABLE_TEXT_SETTINGS) await c.query(s);
      await c.query(`SET LOCAL statement_timeout = ${Math.round(req.statementTimeoutMs)}`);
    }
    const mode = comparableMode(req.manifest);
    // each column hashed as the backup hashed it
    const methods = new Map(req.manifest.fingerprints.tables.map((t) => [relationKey(t.schema, t.name), new Map((t.columns ?? []).map((c) => [c.name, c.method]))]));
    const tables = await tableFingerprints([client, ...helpers], mode, { methods });
    for (const h of helpers) await h.end().catch(() => {});
    const inventory = await catalogInventory(client);
    const properties = await readDatabaseProperties(client);
    await client.query('COMMIT');
    // the drill's own amcheck extension is not part of the backup's inventory
    const restoredInventory = { ...inventory, extensions: inventory.extensions.filter((e) => !e.startsWith('amcheck ') || req.manifest.inventory?.extensions.some((x) => x.startsWith('amcheck '))) };
    const checks = [
      ...compareTables(req.manifest, tables),
      ...compareInventory(req.manifest.inventory, restoredInventory),
      ...compareSequences(req.manifest.inventory, inventory),
      compareProperties(req.manifest.databaseProperties, properties, req.notReproduced),
    ];
    if (req.amcheck) {
      req.log.info('amcheck', 'checking B-tree indexes with amcheck');
      checks.push(...(await amcheckIndexes(client)));
    }
    if (req.assertions.length) {
      req.log.info('assertions', `running ${req.assertions.length} assertion(s)`);
      checks.push(...(await checkAssertions(client, req.assertions, req.statementTimeoutMs)));
    }
    req.signal.throwIfAborted();
    return checks;
  } catch (err) {
    req.signal.throwIfAborted();
    throw err;
  } finally {
    for (const h of helpers) await h.end().catch(() => {});
    req.signal.removeEventListener('abort', stop);
    await client.end().catch(() => {});
  }
}
