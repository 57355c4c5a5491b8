import type { ColumnFingerprint } from '../../pg/column-hash.ts';
import { differenceText, propertyDifferences, type DatabaseProperties } from '../../pg/database-properties.ts';
import { HASH_ALGORITHM } from '../../pg/fingerprint.ts';
import { displayIdent, displayQualified } from '../../pg/ident.ts';
import { INVENTORY_LISTS, INVENTORY_VERSION, type Inventory, UNCHANGED_SINCE_V1 } from '../../pg/inventory.ts';
import type { DrillCheck } from '../../repo/drill-reports.ts';
import type { Manifest, TableFingerprint } from '../../repo/manifest.ts';

const tableName = (t: { schema: string; name: string }) => displayQualified(t.schema, t.name);
const list = (names: string[]) => names.map(displayIdent).join(', ');

// The fingerprint mode a drill can compare: hashes of another algorithm (an older pgops) only by their row counts.
export function comparableMode(manifest: Manifest): Manifest['fingerprints']['mode'] {
  const fp = manifest.fingerprints;
  return fp.mode === 'hash' && fp.algorithm !== HASH_ALGORITHM ? 'count' : fp.mode;
}

// What differs between a table as the backup fingerprinted it and as it was restored; undefined when nothing does.
export function tableDifference(want: TableFingerprint, got: TableFingerprint, mode: 'hash' | 'count'): string | undefined {
  if (mode === 'hash' && want.columns && got.columns) {
    const columns = columnDifference(want.columns, got.columns);
    if (columns) return got.rows === want.rows ? columns : `row count differs: expected ${want.rows}, found ${got.rows}; ${columns}`;
  }
  if (got.rows !== want.rows) return `row count differs: expected ${want.rows}, found ${got.rows}`;
  if (mode !== 'hash' || want.hash === undefined || got.hash === want.hash) return undefined;
  const changed = (want.columns ?? []).filter((c) => got.columns?.find((g) => g.name === c.name)?.hash !== c.hash).map((c) => c.name);
  return changed.length
    ? `content differs with the same row count (${want.rows}): values changed in column${changed.length === 1 ? '' : 's'} ${list(changed)}`
    : `content differs with the same row count (${want.rows}): every column holds the values it held, but combined into other rows`;
}

// Columns missing, added or of another type: a restore that does not reproduce the table's shape.
function columnDifference(want: ColumnFingerprint[], got: ColumnFingerprint[]): string | undefined {
  const found = new Map(got.map((c) => [c.name, c]));
  const missing = want.filter((c) => !found.has(c.name)).map((c) => c.name);
  const extra = got.filter((c) => !want.some((w) => w.name === c.name)).map((c) => c.name);
  const retyped = want.filter((c) => found.has(c.name) && found.get(c.name)!.type !== c.type).map((c) => `${displayIdent(c.name)} (${c.type} -> ${found.get(c.name)!.type})`);
  const parts = [
    missing.length ? `column${missing.length === 1 ? '' : 's'} ${list(missing)} missing` : '',
    extra.length ? `column${extra.length === 1 ? '' : 's'} ${list(extra)} not in the backup` : '',
    retyped.length ? `type changed: ${retyped.join(', ')}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join('; ') : undefined;
}

// Compares the restored tables with the fingerprints the backup took in pg_dump's snapshot: one failed check per
// table that differs, one passing check for all that match. A materialized view that differs is a note, not a
// failure: every restore refreshes it (a bare pg_restore too), so one that was stale at backup time comes back
// with its query's current result; the tables it reads are checked on their own.
export function compareTables(manifest: Manifest, restored: TableFingerprint[]): DrillCheck[] {
  const mode = comparableMode(manifest);
  if (mode === 'none') return [{ name: 'tables', status: 'skip', detail: 'the backup was taken with --fingerprint none' }];
  const found = new Map(restored.map((t) => [tableName(t), t]));
  const checks: DrillCheck[] = [];
  let matching = 0;
  let notes = 0;
  const expected = manifest.fingerprints.tables;
  for (const want of expected) {
    const name = tableName(want);
    const got = found.get(name);
    found.delete(name);
    const what = want.kind === 'm' ? 'materialized view' : 'table';
    if (!got) {
      checks.push({ name: `${what} ${name}`, status: 'fail', detail: 'missing from the restored database', expected: { rows: want.rows }, found: null });
      continue;
    }
    const difference = tableDifference(want, got, mode);
    if (!difference) {
      matching++;
    } else if (want.kind === 'm') {
      notes++;
      checks.push({ name: `${what} ${name}`, status: 'note', detail: `${difference}: a restore refreshes every materialized view, so one that was stale when backed up comes back with its query's current result (a bare pg_restore does the same); not a loss of data` });
    } else {
      checks.push({ name: `${what} ${name}`, status: 'fail', detail: difference, expected: summary(want), found: summary(got) });
    }
  }
  for (const [name, got] of found) checks.push({ name: `table ${name}`, status: 'fail', detail: 'in the restored database but not in the backup', expected: null, found: { rows: got.rows } });
  const failed = expected.length - matching - notes + found.size;
  const how = mode === 'hash' ? 'row count and content hash of every column' : 'row count only: back up with --fingerprint hash to prove every value';
  const noted = notes ? `; ${notes} materialized view${notes === 1 ? '' : 's'} refreshed by the restore (notes)` : '';
  checks.unshift({ name: 'tables', status: failed ? 'fail' : 'pass', detail: `${matching} of ${expected.length} tables match (${how})${noted}` });
  return checks;
}

const summary = (t: TableFingerprint) => ({ rows: t.rows, ...(t.hash === undefined ? {} : { hash: t.hash }) });

// Compares the restored catalogue with the inventory taken at backup time: what is missing, what is extra, each
// entry as often as it occurs (two identical derived constraints are two entries).
export function compareInventory(expected: Inventory | undefined, restored: Inventory): DrillCheck[] {
  if (!expected) return [{ name: 'inventory', status: 'skip', detail: 'the backup has no catalogue inventory (taken by an older pgops)' }];
  const checks: DrillCheck[] = [];
  const current = expected.version === INVENTORY_VERSION;
  for (const list of INVENTORY_LISTS) {
    if (!current && !UNCHANGED_SINCE_V1.includes(list)) {
      checks.push({ name: `inventory ${list}`, status: 'skip', detail: 'the backup\'s inventory holds names only (taken by an older pgops): a new backup records definitions' });
      continue;
    }
    const missing = without(expected[list], restored[list]);
    const extra = without(restored[list], expected[list]);
    if (missing.length === 0 && extra.length === 0) {
      checks.push({ name: `inventory ${list}`, status: 'pass', detail: `${expected[list].length} match` });
    } else {
      const parts = [missing.length ? `missing: ${missing.join('; ')}` : '', extra.length ? `not in the backup: ${extra.join('; ')}` : ''].filter(Boolean);
      checks.push({ name: `inventory ${list}`, status: 'fail', detail: parts.join('; and '), expected: missing, found: extra });
    }
  }
  checks.push(
    expected.largeObjects === restored.largeObjects
      ? { name: 'inventory large objects', status: 'pass', detail: `${restored.largeObjects} large objects` }
      : { name: 'inventory large objects', status: 'fail', detail: `expected ${expected.largeObjects} large objects, found ${restored.largeObjects}`, expected: expected.largeObjects, found: restored.largeObjects },
  );
  return checks;
}

// The entries of a that b does not have, counting repeats: [x, x, y] without [x] is [x, y].
function without(a: string[], b: string[]): string[] {
  const left = new Map<string, number>();
  for (const x of b) left.set(x, (left.get(x) ?? 0) + 1);
  return a.filter((x) => {
    const n = left.get(x) ?? 0;
    if (n > 0) left.set(x, n - 1);
    return n === 0;
  });
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

// Compares the restored database's own properties (pg_restore --create's: encoding, locale, owner, settings,
// privileges, ...) with those the backup recorded: a lost property is a failed check.
export function compareProperties(expected: DatabaseProperties | undefined, found: DatabaseProperties, notReproduced: string[]): DrillCheck {
  if (!expected) return { name: 'database properties', status: 'skip', detail: 'the backup records no database properties (taken by an older pgops)' };
  const differences = propertyDifferences(expected, found);
  if (differences.length === 0) return { name: 'database properties', status: 'pass', detail: `encoding, locale, tablespace, owner, connection limit, comment, privileges and ${expected.settings.length + expected.roleSettings.length ? 'settings' : 'settings (none)'} match` };
  const left = notReproduced.length ? `; left out because the drill server cannot reproduce them (--skip-unavailable-properties): ${notReproduced.join('; ')}` : '';
  return { name: 'database properties', status: 'fail', detail: `${differences.map(differenceText).join('; ')}${left}`, expected: differences.map((d) => `${d.property}: ${d.expected}`), found: differences.map((d) => `${d.property}: ${d.found}`) };
}
