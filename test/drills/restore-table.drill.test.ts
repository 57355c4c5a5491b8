import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { followPage } from '../../tools/runbook-drill/follow.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';
import { clusterHost, drillScratch, recordPassed } from '../support/drill.ts';
import { nightlyBackup, restoreBinds } from '../support/drill-restores.ts';
import { tempFileRepo } from '../support/repo.ts';

// runbooks/restore-table.md as a drill: a shop's orders (identity keys, an enum) and their items (a foreign key
// ON DELETE CASCADE), two nightly sets in a folder repository; after the last one, an order deleted on purpose and
// new orders; then a mistaken DELETE of every cancelled order (their items go with them), and orders keep coming.
// The page restores the two tables into a scratch database, stages them, lists the cancelled orders missing from
// the live table, copies exactly those back in one transaction and drops the scratch objects; its verify step counts
// the listed orders in the live table. Every cancelled order of the backup is back with its items, as it was; the
// order deleted on purpose stays deleted, and the orders written since the backup are untouched.

const FAILURE = 'rows deleted by mistake after the nightly backup (every cancelled order, and their items by cascade)';
const DB = 'shop';

type Order = { id: string; row: string };

describe('runbooks/restore-table.md, drilled', () => {
  let cluster: Cluster;
  let repo: { root: string; url: string };
  let scratch: string;
  // the cancelled orders and their items as the newest set holds them, and the orders written after it
  let cancelledInBackup: Order[];
  let itemsInBackup: string[];
  let deletedOnPurpose: string;
  let afterBackup: Order[];

  const orders = (where: string) => cluster.query<Order>(`SELECT o.id::text AS id, o::text AS row FROM orders o WHERE ${where} ORDER BY o.id`, [], DB);
  const itemsOf = async (where: string) =>
    (await cluster.query<{ row: string }>(`SELECT i::text AS row FROM order_items i JOIN orders o ON o.id = i.order_id WHERE ${where} ORDER BY i.order_id, i.product_id`, [], DB)).map((r) => r.row);
  const addOrders = (n: number, note: string) =>
    cluster.psql(`INSERT INTO orders (customer_id, status, placed_at, note) SELECT g, (ARRAY['open','cancelled'])[1 + g % 2]::order_status, now(), '${note} ' || g FROM generate_series(1, ${n}) g;`, DB);

  beforeAll(async () => {
    cluster = await startCluster();
    repo = await tempFileRepo('pgops-drill-restore-table-');
    scratch = drillScratch('restore-table');
    await cluster.query(`CREATE DATABASE ${DB}`);
    cluster.psql(
      `CREATE TYPE order_status AS ENUM ('open', 'shipped', 'cancelled');
       CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, customer_id bigint NOT NULL, status order_status NOT NULL,
                            placed_at timestamptz NOT NULL, shipped_at timestamptz, note text);
       CREATE TABLE order_items (order_id bigint NOT NULL REFERENCES orders ON DELETE CASCADE, product_id int NOT NULL,
                                 quantity int NOT NULL, unit_price numeric(10,2) NOT NULL, PRIMARY KEY (order_id, product_id));
       INSERT INTO orders (customer_id, status, placed_at, shipped_at, note)
         SELECT g % 50, (ARRAY['open','shipped','cancelled'])[1 + g % 3]::order_status, now() - g * interval '1 hour',
                CASE WHEN g % 3 = 1 THEN now() - g * interval '30 minutes' END, 'Bestellung ' || g || ' – “Notiz”'
           FROM generate_series(1, 300) g;
       INSERT INTO order_items SELECT o.id, p, 1 + (o.id + p) % 4, (p * 1.25)::numeric(10,2) FROM orders o, generate_series(1, 3) p;`,
      DB,
    );
    await nightlyBackup(cluster.url(DB), repo.url);
    addOrders(20, 'second day');
    await nightlyBackup(cluster.url(DB), repo.url);
    cancelledInBackup = await orders(`status = 'cancelled'`);
    itemsInBackup = await itemsOf(`o.status = 'cancelled'`);
    // after the last set: an open order deleted on purpose, and new orders (cancelled ones among them)
    [{ id: deletedOnPurpose }] = await cluster.query<{ id: string }>(`DELETE FROM orders WHERE id = (SELECT min(id) FROM orders WHERE status = 'open') RETURNING id::text`, [], DB);
    addOrders(6, 'after the set');
  }, 120_000);

  afterAll(async () => {
    await cluster?.stop();
    if (repo) fs.rmSync(repo.root, { recursive: true, force: true });
    if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('fails as the page says: the cancelled orders and their items are gone from the live tables', async () => {
    cluster.psql(`DELETE FROM orders WHERE status = 'cancelled';`, DB);
    expect(await orders(`status = 'cancelled'`)).toEqual([]);
    expect(await itemsOf(`o.status = 'cancelled'`)).toEqual([]);
    // the shop goes on taking orders
    addOrders(4, 'after the mistake');
    afterBackup = await orders(`note LIKE 'after %'`);
  });

  it('following the page brings back exactly the orders the mistake deleted, and drops the scratch objects', async () => {
    const r = await followPage({
      page: 'restore-table.md',
      host: clusterHost(cluster),
      cwd: scratch,
      binds: { ...restoreBinds(repo.url, DB, '1-pick-the-set:1'), 'incident rows': "r.status = 'cancelled'" },
    });
    const listed = fs.readFileSync(path.join(scratch, 'orders-to-bring-back.txt'), 'utf8').trim().split('\n');
    expect(listed).toEqual(cancelledInBackup.map((o) => o.id));
    expect(r.verifyOutput).toContain(`${listed.length} of the ${listed.length} listed orders are in public.orders`);
    // every cancelled order of the backup, as it was, with its items; the ones written since the backup as they were
    const backupIds = new Set(cancelledInBackup.map((o) => o.id));
    expect((await orders(`status = 'cancelled'`)).filter((o) => backupIds.has(o.id))).toEqual(cancelledInBackup);
    expect((await itemsOf(`o.status = 'cancelled'`)).filter((row) => backupIds.has(/^\((\d+),/.exec(row)![1]))).toEqual(itemsInBackup);
    expect(await orders(`note LIKE 'after %'`)).toEqual(afterBackup);
    // rows deleted on purpose since the backup stay deleted; a new order still gets a new key
    expect(await orders(`id = ${deletedOnPurpose}`)).toEqual([]);
    const [{ id }] = await cluster.query<{ id: string }>(`INSERT INTO orders (customer_id, status, placed_at) VALUES (1, 'open', now()) RETURNING id::text`, [], DB);
    expect(BigInt(id)).toBeGreaterThan(BigInt(afterBackup.at(-1)!.id));
    // the way back was kept; the scratch database and the staging schema are gone
    expect(fs.statSync(path.join(scratch, 'orders-before-copy-back.dump')).size).toBeGreaterThan(0);
    expect(await cluster.query(`SELECT datname FROM pg_database WHERE datname = $1`, [`${DB}_scratch`])).toEqual([]);
    expect(await cluster.query(`SELECT nspname FROM pg_namespace WHERE nspname = 'pgops_restored'`, [], DB)).toEqual([]);
    recordPassed(FAILURE, r);
  });
});
