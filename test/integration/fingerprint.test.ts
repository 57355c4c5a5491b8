import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STABLE_TEXT_SETTINGS, tableFingerprints } from '../../lib/pg/fingerprint.ts';
import { startCluster, type Cluster } from '../support/cluster.ts';

// The content fingerprint a drill relies on: order-independent, sensitive to every value and to duplicates,
// and the same whether one connection reads a table or several read block ranges of it.
let cluster: Cluster;
const clients: pg.Client[] = [];

async function open(n: number): Promise<pg.Client[]> {
  const out: pg.Client[] = [];
  for (let i = 0; i < n; i++) {
    const c = new pg.Client({ host: cluster.dir, port: cluster.port, user: 'root', database: 'fp' });
    await c.connect();
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    for (const s of STABLE_TEXT_SETTINGS) await c.query(s);
    out.push(c);
    clients.push(c);
  }
  return out;
}
const done = async (cs: pg.Client[]) => {
  for (const c of cs) await c.query('COMMIT');
};

beforeAll(async () => {
  cluster = await startCluster();
  await cluster.query('CREATE DATABASE fp');
  cluster.psql(
    `CREATE TABLE t (id int, v text, f float8, at timestamptz);
     INSERT INTO t SELECT g, md5(g::text), g / 3.0, timestamptz '2026-01-01 00:00+00' + g * interval '1 min' FROM generate_series(1, 20000) g;`,
    'fp',
  );
});
afterAll(async () => {
  for (const c of clients) await c.end().catch(() => {});
  await cluster?.stop();
});

describe('table fingerprints', () => {
  it('hash by value where every column type allows it, else by the row\'s text', async () => {
    cluster.psql(`CREATE TYPE mood AS ENUM ('ok', 'sad'); CREATE TABLE e (id int, m mood, j json); INSERT INTO e VALUES (1, 'ok', '{}'), (2, 'sad', '[1]');`, 'fp');
    const [c] = await open(1);
    const fps = await tableFingerprints(c, 'hash');
    await done([c]);
    cluster.psql('DROP TABLE e; DROP TYPE mood;', 'fp');
    expect(fps.map((f) => [f.name, f.method])).toEqual([
      ['e', 'text'],
      ['t', 'record'],
    ]);
  });

  it('are the same from one connection and from block ranges over three', async () => {
    const [one] = await open(1);
    const single = await tableFingerprints(one, 'hash');
    await done([one]);
    const three = await open(3);
    const split = await tableFingerprints(three, 'hash', { splitPages: 4 });
    await done(three);
    expect(single).toEqual([{ schema: 'public', name: 't', kind: 'r', rows: 20000, hash: expect.stringMatching(/^\d+$/), method: 'record' }]);
    expect(split).toEqual(single);
  });

  it('do not depend on the rows\' physical order, but see a changed value and a duplicated row', async () => {
    const hash = async () => {
      const [c] = await open(1);
      const fp = await tableFingerprints(c, 'hash');
      await done([c]);
      return fp[0];
    };
    const before = await hash();
    cluster.psql('CREATE TABLE t2 AS SELECT * FROM t ORDER BY random(); DROP TABLE t; ALTER TABLE t2 RENAME TO t;', 'fp');
    expect(await hash()).toEqual(before);
    cluster.psql(`UPDATE t SET f = f + 1e-9 WHERE id = 777`, 'fp');
    const changed = await hash();
    expect(changed.rows).toBe(before.rows);
    expect(changed.hash).not.toBe(before.hash);
    cluster.psql(`UPDATE t SET f = f - 1e-9 WHERE id = 777`, 'fp');
    expect((await hash()).hash).toBe(before.hash);
    cluster.psql(`INSERT INTO t SELECT * FROM t WHERE id = 5`, 'fp');
    const duplicated = await hash();
    expect(duplicated.rows).toBe(20001);
    expect(duplicated.hash).not.toBe(before.hash);
  });
});
