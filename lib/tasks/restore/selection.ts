import { usageError } from '../../errors.ts';
import { parseQualifiedName } from '../../pg/ident.ts';

// The pg_restore selection arguments for --table and --schema: one pass per group, since pg_restore
// intersects -n and -t. No selection is one pass with no arguments.
export function restorePasses(tables: string[] = [], schemas: string[] = []): string[][] {
  if (tables.length === 0 && schemas.length === 0) return [[]];
  const passes: string[][] = [];
  if (schemas.length) passes.push(schemas.map((s) => `--schema=${s}`));
  const bySchema = new Map<string, string[]>();
  for (const t of tables) {
    const q = parseQualifiedName(t);
    if (!q) throw usageError(`invalid --table "${t}"`, 'write SCHEMA.TABLE; double-quote a part that holds a dot or a quote: "my schema"."my.table"');
    if (schemas.includes(q.schema)) continue; // the schema pass restores it already
    bySchema.set(q.schema, [...(bySchema.get(q.schema) ?? []), q.name]);
  }
  for (const [schema, names] of bySchema) passes.push([`--schema=${schema}`, ...names.map((n) => `--table=${n}`)]);
  return passes;
}
