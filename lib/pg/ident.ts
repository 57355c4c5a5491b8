import pg from 'pg';

// Quotes an identifier the way PostgreSQL does (node-postgres's escapeIdentifier): "my ""odd"" name".
export function quoteIdent(name: string): string {
  return pg.escapeIdentifier(name);
}

// schema.name, each part quoted.
export function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

// Parses SCHEMA.TABLE where either part may be double-quoted ("my schema"."a.b"); no schema means public.
export function parseQualifiedName(text: string): { schema: string; name: string } | undefined {
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    let part = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) return undefined;
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += text[i++];
      }
    } else {
      while (i < text.length && text[i] !== '.') part += text[i++];
    }
    parts.push(part);
    if (i < text.length) {
      if (text[i] !== '.') return undefined;
      i++;
      if (i === text.length) return undefined;
    }
  }
  if (parts.length === 1 && parts[0]) return { schema: 'public', name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { schema: parts[0], name: parts[1] };
  return undefined;
}

// One identifier as SQL writes it: "Quoted ""name""" as its text, a bare name folded to lower case as PostgreSQL does.
export function parseIdentifier(text: string): string | undefined {
  if (/^"(?:[^"]|"")+"$/.test(text)) return text.slice(1, -1).replace(/""/g, '"');
  if (/^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*$/.test(text)) return text.toLowerCase();
  return undefined;
}

// A name for messages, quoted only where SQL would need it: orders, "Sales Ü".
export function displayIdent(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : quoteIdent(name);
}

// schema.name for messages, each part quoted only where SQL would need it.
export function displayQualified(schema: string, name: string): string {
  return `${displayIdent(schema)}.${displayIdent(name)}`;
}
