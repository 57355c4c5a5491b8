// A relation's name for people: schema.name, each part double-quoted only when it needs it (as format('%I') does,
// less its keyword list). SQL never uses this: statements quote with quoteIdent.
export function displayName(schema: string, name: string): string {
  return `${displayIdent(schema)}.${displayIdent(name)}`;
}

export function displayIdent(name: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

// Orders names as the catalogue does (byte order, not the locale's): "Sales Ü" before "public".
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
