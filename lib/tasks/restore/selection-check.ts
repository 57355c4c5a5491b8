import { ExitCode, PgopsError } from '../../errors.ts';
import { editDistance } from '../../edit-distance.ts';
import type { Manifest } from '../../repo/manifest.ts';
import { displayIdent, displayQualified, parseIdentifier, parseQualifiedName } from '../../pg/ident.ts';

interface Named {
  schema: string;
  name: string;
}

// The leading schema.name of an inventory entry ("public.orders: id integer ...", "\"Sales Ü\".v (not populated)").
export function leadingName(entry: string): Named | undefined {
  const m = /^((?:"(?:[^"]|"")+"|[^".\s:(]+))\.((?:"(?:[^"]|"")+"|[^".\s:(]+))/.exec(entry);
  if (!m) return undefined;
  const schema = parseIdentifier(m[1]);
  const name = parseIdentifier(m[2]);
  return schema !== undefined && name !== undefined ? { schema, name } : undefined;
}

// What pg_restore --table can select in the set (tables, views, materialized views, sequences, foreign tables) and
// its schemas, from the manifest's catalogue inventory; undefined for a set taken without one.
export function selectable(m: Manifest): { relations: Named[]; schemas: string[] } | undefined {
  const inv = m.inventory;
  if (!inv) return undefined;
  const entries = [...inv.tables, ...inv.views, ...inv.materializedViews, ...inv.sequences.map((s) => s.name)];
  return { relations: entries.map(leadingName).filter((n): n is Named => n !== undefined), schemas: inv.schemas.map((s) => parseIdentifier(s) ?? s) };
}

// Refuses --table and --schema values that match nothing in the backup, before anything is created, naming the
// closest names in the backup (schema-qualified). pg_restore itself would restore nothing and exit 0.
export function checkSelection(m: Manifest, tables: string[] = [], schemas: string[] = []): void {
  if (tables.length === 0 && schemas.length === 0) return;
  const have = selectable(m);
  if (!have) return;
  const problems: string[] = [];
  for (const s of schemas) {
    if (have.schemas.includes(s)) continue;
    const close = closest(s, have.schemas).map(displayIdent);
    problems.push(`schema ${JSON.stringify(s)} is not in the backup${close.length ? ` (did you mean ${close.join(', ')}?)` : ''}`);
  }
  for (const t of tables) {
    const q = parseQualifiedName(t);
    if (!q || have.relations.some((r) => r.schema === q.schema && r.name === q.name)) continue;
    const sameName = have.relations.filter((r) => r.name === q.name);
    const close = sameName.length ? sameName : closestRelations(q, have.relations);
    // a schema was written when a dot stands outside double quotes ("my.table" alone is a name in public)
    const schemaWritten = t.replace(/"(?:[^"]|"")*"/g, '').includes('.');
    const said = schemaWritten ? displayQualified(q.schema, q.name) : `${displayQualified(q.schema, q.name)} (a name without a schema means public)`;
    problems.push(`table ${said} is not in the backup${close.length ? ` (did you mean ${close.map((r) => displayQualified(r.schema, r.name)).join(', ')}?)` : ''}`);
  }
  if (problems.length) {
    throw new PgopsError(`nothing to restore for ${problems.join('; ')}`, {
      code: ExitCode.NOT_FOUND,
      hint: `write --table SCHEMA.TABLE as the backup names it (pg_restore matches names exactly); backup ${m.backupId} holds ${have.relations.length} tables, views and sequences; nothing was created`,
    });
  }
}

// Up to five names within a small edit distance (case ignored), nearest first.
function closest(word: string, names: string[]): string[] {
  const limit = Math.max(2, Math.floor(word.length / 3));
  return names
    .map((n) => ({ n, d: editDistance(word.toLowerCase(), n.toLowerCase()) }))
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d || a.n.localeCompare(b.n))
    .slice(0, 5)
    .map((x) => x.n);
}

function closestRelations(q: Named, relations: Named[]): Named[] {
  const names = closest(q.name, [...new Set(relations.map((r) => r.name))]);
  return names.flatMap((n) => relations.filter((r) => r.name === n)).slice(0, 5);
}
