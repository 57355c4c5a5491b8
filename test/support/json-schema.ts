// A small JSON Schema (draft-07) checker for the keywords tools/docs/config-schema.ts uses: type, enum, pattern,
// minimum, maximum, properties, patternProperties, additionalProperties, items and local $ref. The errors, as
// "where: what"; none when the value fits.
type Schema = Record<string, unknown>;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

export function schemaErrors(schema: Schema, value: unknown, root: Schema = schema, where = '$'): string[] {
  if (typeof schema.$ref === 'string') {
    const target = schema.$ref.replace(/^#\//, '').split('/').reduce<unknown>((s, k) => (s as Schema)[k], root) as Schema;
    return schemaErrors(target, value, root, where);
  }
  const errors: string[] = [];
  const t = typeOf(value);
  if (schema.type !== undefined) {
    const types = ([] as string[]).concat(schema.type as string | string[]);
    if (!types.includes(t) && !(t === 'integer' && types.includes('number'))) return [`${where}: ${t} is not ${types.join(' or ')}`];
  }
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${where}: ${JSON.stringify(value)} is not one of ${schema.enum.join(', ')}`);
  if (t === 'string' && typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value as string)) errors.push(`${where}: "${value}" does not match ${schema.pattern}`);
  if ((t === 'integer' || t === 'number') && typeof schema.minimum === 'number' && (value as number) < schema.minimum) errors.push(`${where}: ${value} is below ${schema.minimum}`);
  if ((t === 'integer' || t === 'number') && typeof schema.maximum === 'number' && (value as number) > schema.maximum) errors.push(`${where}: ${value} is above ${schema.maximum}`);
  if (t === 'array' && schema.items) (value as unknown[]).forEach((v, i) => errors.push(...schemaErrors(schema.items as Schema, v, root, `${where}[${i}]`)));
  if (t === 'object') {
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    const patterns = Object.entries((schema.patternProperties ?? {}) as Record<string, Schema>);
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      const at = `${where}.${key}`;
      if (Object.hasOwn(props, key)) errors.push(...schemaErrors(props[key], v, root, at));
      else if (patterns.some(([p]) => new RegExp(p, 'u').test(key))) errors.push(...patterns.filter(([p]) => new RegExp(p, 'u').test(key)).flatMap(([, s]) => schemaErrors(s, v, root, at)));
      else if (schema.additionalProperties === false) errors.push(`${at}: not allowed`);
      else if (typeof schema.additionalProperties === 'object') errors.push(...schemaErrors(schema.additionalProperties as Schema, v, root, at));
    }
  }
  return errors;
}
