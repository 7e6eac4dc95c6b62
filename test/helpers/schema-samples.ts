// Values that an OpenAPI schema accepts, for tests that call real documents' operations with
// the arguments their parameters allow (test/openapi-import/prism.test.ts).

export type Json = any;

/** A local $ref followed to what it names. */
export function deref(doc: Json, node: Json): Json {
  for (let hops = 0; node && typeof node === 'object' && typeof node.$ref === 'string' && hops < 50; hops++) {
    if (!node.$ref.startsWith('#/')) return undefined;
    node = node.$ref
      .slice(2)
      .split('/')
      .map((s: string) => decodeURIComponent(s).replace(/~1/g, '/').replace(/~0/g, '~'))
      .reduce((o: Json, k: string) => o?.[k], doc);
  }
  return node;
}

/** A value of `schema` that a validator of the document accepts. */
export function sample(doc: Json, schemaIn: Json, example?: unknown, seen = new Set<Json>()): unknown {
  const schema = deref(doc, schemaIn) ?? {};
  if (example !== undefined) return example;
  if (Array.isArray(schema.enum) && schema.enum.some((v: unknown) => v !== null))
    return schema.enum.find((v: unknown) => v !== null);
  if (schema.default !== undefined) return schema.default;
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if (seen.has(schema)) return undefined;
  seen.add(schema);
  const parts: Json[] = schema.allOf ?? schema.oneOf ?? schema.anyOf ?? [];
  if (parts.length) {
    const typed = parts.map((p) => deref(doc, p)).find((p) => p?.type && p.type !== 'null') ?? parts[0];
    return sample(doc, typed, undefined, seen);
  }
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== 'null') : schema.type;
  switch (type ?? (schema.properties ? 'object' : schema.items ? 'array' : 'string')) {
    case 'array': {
      const item = sample(doc, schema.items, undefined, seen);
      return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => item);
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const key of schema.required ?? []) out[key] = sample(doc, schema.properties?.[key], undefined, seen);
      return out;
    }
    case 'integer':
    case 'number': {
      const low =
        typeof schema.exclusiveMinimum === 'number'
          ? schema.exclusiveMinimum + 1
          : schema.minimum !== undefined
            ? schema.minimum + (schema.exclusiveMinimum === true ? 1 : 0)
            : undefined;
      const high = typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum - 1 : schema.maximum;
      return low ?? (high !== undefined ? Math.min(1, high) : 1);
    }
    case 'boolean':
      return true;
    default:
      return sampleString(schema);
  }
}

export function sampleString(schema: Json): string {
  switch (schema.format) {
    case 'date':
      return '2024-01-15';
    case 'date-time':
      return '2024-01-15T10:00:00Z';
    case 'time':
      return '10:00:00Z';
    case 'uuid':
      return '3fa85f64-5717-4562-b3fc-2c963f66afa6';
    case 'email':
      return 'someone@example.com';
    case 'uri':
    case 'url':
      return 'https://example.com/';
    case 'hostname':
      return 'example.com';
    case 'ipv4':
      return '192.0.2.1';
    case 'ipv6':
      return '2001:db8::1';
  }
  const length = Math.min(Math.max(schema.minLength ?? 0, 4), schema.maxLength ?? 4);
  return 'abcd'.repeat(Math.ceil(length / 4)).slice(0, Math.max(length, schema.minLength ?? 0));
}
