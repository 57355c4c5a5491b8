import fs from 'node:fs';
import zlib from 'node:zlib';
import type { Cluster } from '../../test/support/cluster.ts';

// The data of bench:pitr: an accounts table and an events table with the mix of a real application's rows (text
// from a vocabulary, jsonb, numeric, timestamps, random uuids, two indexes). pgbench's accounts are mostly blank
// filler that compresses about 55:1; this compresses about as production data does (a few times), so copying and
// hashing cost what they would on a real database. Random, but the same on every run (setseed).

const WORDS = [
  'order', 'invoice', 'refund', 'shipment', 'customer', 'delivery', 'parcel', 'payment', 'discount', 'coupon',
  'warehouse', 'address', 'billing', 'subscription', 'renewal', 'cancelled', 'pending', 'confirmed', 'failed',
  'retry', 'timeout', 'checkout', 'basket', 'product', 'variant', 'colour', 'size', 'large', 'small', 'blue',
  'green', 'express', 'standard', 'weekend', 'monday', 'receipt', 'tax', 'vat', 'currency', 'euro', 'dollar',
  'support', 'ticket', 'escalated', 'resolved', 'note', 'call', 'email', 'mobile', 'web', 'partner', 'api',
  'import', 'export', 'batch', 'nightly', 'report', 'review', 'rating', 'stars',
];

const words = `ARRAY[${WORDS.map((w) => `'${w}'`).join(',')}]`;
// a random word; n random words joined by spaces
const word = `(${words})[1 + floor(random() * ${WORDS.length})::int]`;
const sentence = (n: number) => `concat_ws(' ', ${Array.from({ length: n }, () => word).join(', ')})`;

export const SCHEMA_SQL = `
CREATE TABLE accounts (
  id         bigint PRIMARY KEY,
  email      text NOT NULL,
  name       text NOT NULL,
  country    char(2) NOT NULL,
  plan       text NOT NULL,
  created_at timestamptz NOT NULL,
  balance    numeric(12,2) NOT NULL,
  profile    jsonb NOT NULL
);
CREATE TABLE events (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id bigint NOT NULL,
  kind       text NOT NULL,
  at         timestamptz NOT NULL,
  amount     numeric(12,2),
  session    uuid NOT NULL,
  payload    jsonb NOT NULL,
  note       text
);
CREATE INDEX events_account_at_idx ON events (account_id, at);
`;

export const ACCOUNTS = 100_000;
const EVENTS_BATCH = 100_000;

const insertAccounts = `
INSERT INTO accounts
SELECT g, 'user' || g || '@' || ${word} || '.example.com', initcap(${word}) || ' ' || initcap(${word}),
       (ARRAY['PT','DK','FR','DE','NG','MA','IT','JP','IE','US','BR','IN'])[1 + floor(random() * 12)::int],
       (ARRAY['free','basic','team','enterprise'])[1 + floor(random() * 4)::int],
       timestamptz '2020-01-01 00:00:00+00' + random() * interval '1500 days',
       round((random() * 10000)::numeric, 2),
       jsonb_build_object('newsletter', random() < 0.3, 'locale', ${word}, 'tags', jsonb_build_array(${word}, ${word}), 'score', floor(random() * 1000))
  FROM generate_series(1, ${ACCOUNTS}) g`;

// $1: the batch's first timestamp offset in seconds (later batches are later events)
const insertEvents = (rows: number) => `
INSERT INTO events (account_id, kind, at, amount, session, payload, note)
SELECT 1 + floor(random() * ${ACCOUNTS})::bigint,
       (ARRAY['login','view','search','add_to_basket','checkout','payment','refund','support','logout'])[1 + floor(random() * 9)::int],
       timestamptz '2024-01-01 00:00:00+00' + ($1::bigint + g) * interval '1 second' * 3,
       CASE WHEN random() < 0.4 THEN round((random() * 500)::numeric, 2) END,
       md5(random()::text)::uuid,
       jsonb_build_object('path', '/api/v2/' || ${word} || '/' || floor(random() * 100000), 'ms', floor(random() * 900),
                          'agent', (ARRAY['Mozilla/5.0 (X11; Linux x86_64)','Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)','curl/8.5.0','okhttp/4.12'])[1 + floor(random() * 4)::int],
                          'ref', ${word}),
       CASE WHEN random() < 0.7 THEN ${sentence(8)} END
  FROM generate_series(1, ${rows}) g`;

// Creates the tables and fills them until the database is at least sizeMb; returns its size in bytes.
export async function generateData(c: Cluster, database: string, sizeMb: number, progress: (message: string) => void): Promise<number> {
  const size = async () => Number((await c.query<{ b: string }>('SELECT pg_database_size(current_database()) AS b', [], database))[0].b);
  await c.query('SELECT setseed(0.42)', [], database);
  for (const statement of SCHEMA_SQL.split(';').filter((s) => s.trim())) await c.query(statement, [], database);
  await c.query(insertAccounts, [], database);
  for (let batch = 0; (await size()) < sizeMb * 1024 * 1024; batch++) {
    await c.query(insertEvents(EVENTS_BATCH), [batch * EVENTS_BATCH], database);
    if (batch % 5 === 4) progress(`  ${((batch + 1) * EVENTS_BATCH).toLocaleString('en')} events, ${((await size()) / 1024 / 1024).toFixed(0)} MB`);
  }
  // hint bits and the visibility map set now, so that no backup or replay pays for them
  await c.query('VACUUM (FREEZE, ANALYZE)', [], database);
  await c.query('CHECKPOINT');
  return size();
}

// The workload after the base backups, which every recovery replays: new events, balance updates, old events deleted,
// in batches until the server has written walMb of WAL. Returns the WAL bytes written.
export async function runWorkload(c: Cluster, database: string, walMb: number): Promise<number> {
  const lsn = async () => (await c.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l'))[0].l;
  const start = await lsn();
  const written = async () => Number((await c.query<{ d: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS d', [start]))[0].d);
  const [{ n }] = await c.query<{ n: string }>('SELECT max(id) AS n FROM events', [], database);
  for (let batch = 0; (await written()) < walMb * 1024 * 1024; batch++) {
    await c.query(insertEvents(20_000), [Number(n) + batch * 20_000], database);
    await c.query(`UPDATE accounts SET balance = balance + 1, profile = profile || jsonb_build_object('seen', ${batch}) WHERE id % 97 = ${batch % 97}`, [], database);
    await c.query(`DELETE FROM events WHERE id % 211 = ${batch % 211} AND id < ${Number(n) / 2}`, [], database);
  }
  return written();
}

// What every recovery must end with: the source's state after the workload (rows and sums the workload changed).
export const FINGERPRINT_SQL = `SELECT (SELECT count(*) FROM events)::text || '/' || (SELECT max(id) FROM events)::text || '/' || (SELECT sum(balance) FROM accounts)::text AS f`;

// How well the data compresses: gzip -1 of 16 slices of 4 MB spread over a base tar (production data: a few times;
// pgbench's: about 55:1).
export function gzip1Ratio(tar: string): number {
  const fd = fs.openSync(tar, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const slice = Buffer.alloc(4 * 1024 * 1024);
    let raw = 0;
    let packed = 0;
    for (let i = 0; i < 16; i++) {
      const n = fs.readSync(fd, slice, 0, slice.length, Math.floor(((size - slice.length) * i) / 15));
      raw += n;
      packed += zlib.gzipSync(slice.subarray(0, n), { level: 1 }).length;
    }
    return raw / packed;
  } finally {
    fs.closeSync(fd);
  }
}
