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
  it('hash each column by value where its type allows it, else by its text, in name order', async () => {
    cluster.psql(`CREATE TYPE mood AS ENUM ('ok', 'sad'); CREATE TABLE e (id int, m mood, j json, n numeric); INSERT INTO e VALUES (1, 'ok', '{}', 1.0), (2, 'sad', '[1]', 2);`, 'fp');
    const [c] = await open(1);
    const fps = await tableFingerprints(c, 'hash');
    await done([c]);
    cluster.psql('DROP TABLE e; DROP TYPE mood;', 'fp');
    expect(fps.map((f) => [f.name, f.columns!.map((col) => `${col.name} ${col.type} ${col.method}`)])).toEqual([
      ['e', ['id integer value', 'j json text', 'm public.mood text', 'n numeric text']],
      ['t', ['at timestamp with time zone value', 'f double precision text', 'id integer value', 'v text value']],
    ]);
  });

  it('are the same from one connection and from block ranges over three', async () => {
    const [one] = await open(1);
    const single = await tableFingerprints(one, 'hash');
    await done([one]);
    const three = await open(3);
    const split = await tableFingerprints(three, 'hash', { splitPages: 4 });
    await done(three);
    const column = (name: string, type: string, method: string) => ({ name, type, method, hash: expect.stringMatching(/^\d+$/) });
    expect(single).toEqual([{ schema: 'public', name: 't', kind: 'r', rows: 20000, hash: expect.stringMatching(/^\d+$/), columns: [column('at', 'timestamp with time zone', 'value'), column('f', 'double precision', 'text'), column('id', 'integer', 'value'), column('v', 'text', 'value')] }]);
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

describe('fingerprints no user name can capture', () => {
  const HOSTILE = `
    CREATE SCHEMA evil;
    CREATE TYPE evil.pair AS (x int, t text);
    CREATE DOMAIN evil.flag AS boolean;
    CREATE TABLE evil.x (t int, x text, q text, c0 int, n int, h numeric, "?" text, "$seed" text, "$&" text, "row" int, "coalesce" timestamptz, hash_record_extended evil.flag, p evil.pair, a int[]);
    CREATE TABLE evil.t ();
    INSERT INTO evil.t DEFAULT VALUES; INSERT INTO evil.t DEFAULT VALUES;
    -- stand-ins for every function and operator the fingerprint SQL calls, which return 0 or 1
    CREATE FUNCTION evil.hashtextextended(text, bigint) RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint';
    CREATE FUNCTION evil.hashint4extended(integer, bigint) RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint';
    CREATE FUNCTION evil.hash_record_extended(record, bigint) RETURNS bigint LANGUAGE plpgsql AS 'BEGIN RETURN 0; END';
    CREATE FUNCTION evil.hash_array_extended(anyarray, bigint) RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint';
    CREATE FUNCTION evil.timestamp_hash_extended(timestamp, bigint) RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint';
    CREATE FUNCTION evil.textin(text) RETURNS text LANGUAGE sql AS 'SELECT ''''::text';
    CREATE FUNCTION evil.zero(bigint, bigint) RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint';
    CREATE OPERATOR evil.# (leftarg = bigint, rightarg = bigint, function = evil.zero);
    CREATE FUNCTION evil.one(bigint, bigint) RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint';
    CREATE AGGREGATE evil.sum(bigint) (sfunc = evil.one, stype = bigint, initcond = '1');
    CREATE FUNCTION evil.count() RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint';
  `;
  const FILL = `TRUNCATE evil.x;
    INSERT INTO evil.x SELECT g, 'x' || g, 'q' || g, g, g, g / 7.0, '?' || g, '$seed', '$&', g, '2026-01-01 00:00+00', g % 2 = 0, ROW(g, 't' || g)::evil.pair, ARRAY[g, NULL] FROM generate_series(1, 50) g;
    INSERT INTO evil.x (t) VALUES (NULL);`;
  const fingerprints = async (searchPath?: string) => {
    const c = new pg.Client({ host: cluster.dir, port: cluster.port, user: 'root', database: 'capture' });
    await c.connect();
    clients.push(c);
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    for (const s of STABLE_TEXT_SETTINGS) await c.query(s);
    if (searchPath) await c.query(`SET LOCAL search_path = ${searchPath}`);
    const fps = await tableFingerprints(c, 'hash');
    await c.query('COMMIT');
    return fps;
  };
  const columnHashes = (t: { columns?: { name: string; hash: string }[] }) => Object.fromEntries(t.columns!.map((c) => [c.name, c.hash]));

  beforeAll(async () => {
    await cluster.query('CREATE DATABASE capture');
    cluster.psql(HOSTILE + FILL, 'capture');
  });

  it('hash every column of tables named like the aliases, with columns named like the functions, whatever the search_path', async () => {
    const plain = await fingerprints();
    expect(plain.map((f) => [f.name, f.rows, f.columns!.length])).toEqual([['t', 2, 0], ['x', 51, 14]]);
    expect(plain[1].columns!.map((c) => c.name)).toEqual(['$&', '$seed', '?', 'a', 'c0', 'coalesce', 'h', 'hash_record_extended', 'n', 'p', 'q', 'row', 't', 'x']);
    // the stand-ins come first in the search_path: the hashes must not change (type names print unqualified then)
    const hashes = (fps: typeof plain) => fps.map((f) => [f.rows, f.hash, f.columns!.map((c) => [c.name, c.method, c.hash])]);
    expect(hashes(await fingerprints('evil, pg_catalog'))).toEqual(hashes(plain));
  });

  it('see a changed value in any column, and name that column alone', async () => {
    const before = (await fingerprints())[1];
    const changes: [string, string][] = [
      ['t', 'UPDATE evil.x SET t = t + 1000 WHERE t = 3'],
      ['?', `UPDATE evil.x SET "?" = '?x' WHERE t = 4`],
      ['hash_record_extended', 'UPDATE evil.x SET hash_record_extended = NOT hash_record_extended WHERE t = 5'],
      ['p', `UPDATE evil.x SET p = ROW(6, 'changed') WHERE t = 6`],
      ['coalesce', `UPDATE evil.x SET "coalesce" = "coalesce" + interval '1 microsecond' WHERE t = 7`],
      ['h', 'UPDATE evil.x SET h = 8.0 WHERE t = 8'],
      ['a', 'UPDATE evil.x SET a = ARRAY[9] WHERE t = 9'],
    ];
    for (const [column, sql] of changes) {
      cluster.psql(sql, 'capture');
      const after = (await fingerprints())[1];
      const changed = Object.keys(columnHashes(before)).filter((k) => columnHashes(before)[k] !== columnHashes(after)[k]);
      expect([column, after.rows, after.hash === before.hash, changed]).toEqual([column, before.rows, false, [column]]);
      cluster.psql(FILL, 'capture');
      expect((await fingerprints())[1]).toEqual(before);
    }
  });
});
