import type { DrillCheck } from '../../drill-report.ts';
import type { Manifest, TableFingerprint } from '../../manifest.ts';
import { HASH_ALGORITHM } from '../../pg/fingerprint.ts';
import { INVENTORY_LISTS, type Inventory } from '../../pg/inventory.ts';

const tableName = (t: { schema: string; name: string }) => `${quote(t.schema)}.${quote(t.name)}`;
function quote(n: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(n) ? n : `"${n.replace(/"/g, '""')}"`;
}

// Compares the restored tables with the fingerprints the backup took in pg_dump's snapshot: one failed check
// per table that differs, and one passing check for all that match.
export function compareTables(manifest: Manifest, restored: TableFingerprint[]): DrillCheck[] {
  // hashes taken by another algorithm (an older pgops) cannot be compared: row counts still can
  const mode = manifest.fingerprints.mode === 'hash' && manifest.fingerprints.algorithm !== HASH_ALGORITHM ? 'count' : manifest.fingerprints.mode;
  if (mode === 'none') return [{ name: 'tables', status: 'skip', detail: 'the backup was taken with --fingerprint none' }];
  const found = new Map(restored.map((t) => [tableName(t), t]));
  const checks: DrillCheck[] = [];
  let matching = 0;
  for (const want of manifest.fingerprints.tables) {
    const name = tableName(want);
    const got = found.get(name);
    found.delete(name);
    if (!got) {
      checks.push({ name: `table ${name}`, status: 'fail', detail: 'missing from the restored database', expected: { rows: want.rows }, found: null });
    } else if (got.rows !== want.rows) {
      checks.push({ name: `table ${name}`, status: 'fail', detail: `row count differs: expected ${want.rows}, found ${got.rows}`, expected: { rows: want.rows }, found: { rows: got.rows } });
    } else if (mode === 'hash' && want.hash !== undefined && got.hash !== want.hash) {
      checks.push({ name: `table ${name}`, status: 'fail', detail: `content hash differs with the same row count (${want.rows}): the rows' values changed`, expected: { hash: want.hash }, found: { hash: got.hash } });
    } else {
      matching++;
    }
  }
  for (const name of found.keys()) checks.push({ name: `table ${name}`, status: 'fail', detail: 'in the restored database but not in the backup', expected: null, found: { rows: found.get(name)!.rows } });
  checks.unshift({ name: 'tables', status: matching === manifest.fingerprints.tables.length && found.size === 0 ? 'pass' : 'fail', detail: `${matching} of ${manifest.fingerprints.tables.length} tables match (${mode === 'hash' ? 'row count and content hash' : 'row count only: back up with --fingerprint hash to prove every value'})` });
  return checks;
}

// Compares the restored catalogue with the inventory taken at backup time: what is missing, what is extra.
export function compareInventory(expected: Inventory | undefined, restored: Inventory): DrillCheck[] {
  if (!expected) return [{ name: 'inventory', status: 'skip', detail: 'the backup has no catalogue inventory (taken by an older pgops)' }];
  const checks: DrillCheck[] = [];
  for (const list of INVENTORY_LISTS) {
    const want = new Set(expected[list]);
    const got = new Set(restored[list]);
    const missing = [...want].filter((x) => !got.has(x));
    const extra = [...got].filter((x) => !want.has(x));
    if (missing.length === 0 && extra.length === 0) {
      checks.push({ name: `inventory ${list}`, status: 'pass', detail: `${want.size} match` });
    } else {
      const parts = [missing.length ? `missing: ${missing.join(', ')}` : '', extra.length ? `not in the backup: ${extra.join(', ')}` : ''].filter(Boolean);
      checks.push({ name: `inventory ${list}`, status: 'fail', detail: parts.join('; '), expected: missing, found: extra });
    }
  }
  checks.push(
    expected.largeObjects === restored.largeObjects
      ? { name: 'inventory large objects', status: 'pass', detail: `${restored.largeObjects} large objects` }
      : { name: 'inventory large objects', status: 'fail', detail: `expected ${expected.largeObjects} large objects, found ${restored.largeObjects}`, expected: expected.largeObjects, found: restored.largeObjects },
  );
  return checks;
}

// Sequences are not transactional: pg_dump reads each one after the backup's inventory did, so a restored value
// may be ahead of the recorded one (the application used the sequence meanwhile) but never behind it.
export function compareSequences(expected: Inventory | undefined, restored: Inventory): DrillCheck[] {
  if (!expected) return [];
  const got = new Map(restored.sequences.map((s) => [s.name, s]));
  const failures: DrillCheck[] = [];
  for (const want of expected.sequences) {
    const s = got.get(want.name);
    if (!s) {
      failures.push({ name: `sequence ${want.name}`, status: 'fail', detail: 'missing from the restored database' });
      continue;
    }
    if (want.lastValue === null) continue;
    if (s.lastValue === null || BigInt(s.lastValue) < BigInt(want.lastValue)) {
      failures.push({ name: `sequence ${want.name}`, status: 'fail', detail: `last value ${s.lastValue ?? 'not set'} is behind the backup's ${want.lastValue}: new rows would reuse ids`, expected: want.lastValue, found: s.lastValue });
    }
  }
  return [{ name: 'sequences', status: failures.length ? 'fail' : 'pass', detail: `${expected.sequences.length - failures.length} of ${expected.sequences.length} sequences at or ahead of the backup's values` }, ...failures];
}
