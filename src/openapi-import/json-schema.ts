// What the importer asks of a JSON Schema (OpenAPI 3.0's dialect, 3.1's and Swagger 2's): its
// type, whether it may be null, whether it is a string enum or an object with properties, the
// scalar it maps to, and allOf flattened. Integers: int32 is Int, int64 is String (a decimal,
// never rounded), an integer without a format that may exceed 32 bits is Float (millisecond
// timestamps do: Int would refuse them).

// biome-ignore lint/suspicious/noExplicitAny: a dereferenced OpenAPI schema object, read property by property.
export type Schema = Record<string, any>;

export function typeOf(schema: Schema): string | undefined {
  const t = schema.type;
  if (Array.isArray(t)) return t.find((x: string) => x !== 'null');
  if (t) return t;
  if (schema.properties || schema.additionalProperties) return 'object';
  if (schema.items) return 'array';
  // OpenAPI 3.1's const, and an enum of one kind of value, say the type without "type".
  const values: unknown[] = schema.const !== undefined ? [schema.const] : Array.isArray(schema.enum) ? schema.enum : [];
  const kinds = new Set(values.filter((v) => v !== null).map((v) => (Array.isArray(v) ? 'array' : typeof v)));
  if (kinds.size === 1) {
    const [kind] = kinds;
    return kind === 'number' ? 'number' : kind === 'string' || kind === 'boolean' ? kind : undefined;
  }
  return undefined;
}

export function isNullable(schema: Schema): boolean {
  return (
    schema.nullable === true ||
    schema['x-nullable'] === true ||
    (Array.isArray(schema.type) && schema.type.includes('null')) ||
    (schema.oneOf ?? schema.anyOf ?? []).some((o: Schema) => o?.type === 'null')
  );
}

export function isStringEnum(schema: Schema): boolean {
  return (
    Array.isArray(schema.enum) &&
    schema.enum.some((v: unknown) => typeof v === 'string') &&
    schema.enum.every((v: unknown) => typeof v === 'string' || v === null)
  );
}

export function hasProperties(schema: Schema): boolean {
  return !!schema.properties && Object.keys(schema.properties).length > 0;
}

const INT32_MAX = 2 ** 31 - 1;

/** The scalar a schema maps to, or undefined for objects, enums, arrays and compositions. */
export function scalarOf(schema: Schema): string | undefined {
  if (schema.oneOf || schema.anyOf || schema.allOf) return undefined;
  if (isStringEnum(schema)) return undefined;
  switch (typeOf(schema)) {
    case 'string':
      return 'String';
    case 'boolean':
      return 'Boolean';
    case 'number':
      return 'Float';
    case 'integer': {
      if (schema.format === 'int32') return 'Int';
      if (schema.format === 'int64') return 'String';
      const fits =
        typeof schema.maximum === 'number' &&
        typeof schema.minimum === 'number' &&
        schema.maximum <= INT32_MAX &&
        schema.minimum >= -INT32_MAX - 1;
      return fits ? 'Int' : 'Float';
    }
    case 'object':
    case 'array':
      return undefined;
    default:
      return 'JSON';
  }
}

/** allOf flattened into one schema: properties and required of every part (nested allOf too). */
export function mergeAllOf(schema: Schema, seen = new Set<Schema>()): Schema {
  if (!schema.allOf || seen.has(schema)) return schema;
  seen.add(schema);
  const merged: Schema = { ...schema, properties: {}, required: [] };
  delete merged.allOf;
  for (const part of [...schema.allOf, schema]) {
    const flat = part === schema ? schema : mergeAllOf(part, seen);
    Object.assign(merged.properties, flat.properties ?? {});
    merged.required.push(...(flat.required ?? []));
  }
  return merged;
}
