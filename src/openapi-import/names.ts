// GraphQL names for what an OpenAPI document names freely ("pet-store.Order", "page[size]",
// "in-stock", "1"), and a registry that makes them unique the same way on every run: the
// first claimant keeps the name, later ones get 2, 3, ... in the order they are claimed,
// which the importer keeps sorted. Each name that differs from the document's keeps the
// original with @from(path:) or @enumValue(value:), so nothing the upstream sends is lost.

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
/** Names GraphQL or the generated file itself already uses. */
const RESERVED_TYPES = new Set([
  'Query',
  'Mutation',
  'Subscription',
  'String',
  'Int',
  'Float',
  'Boolean',
  'ID',
  'JSON',
]);

function words(raw: string): string[] {
  return raw
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^0-9A-Za-z]+/)
    .filter(Boolean);
}

const capital = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);

/** PascalCase, for types: "pet-store.Order" -> "PetStoreOrder". */
export function typeName(raw: string): string {
  const name = words(raw).map(capital).join('') || 'Type';
  const safe = /^[0-9]/.test(name) ? `T${name}` : name;
  return RESERVED_TYPES.has(safe) || safe.startsWith('__') ? `${safe}_` : safe;
}

/** A valid name as it is ("user_id", "userId"); otherwise camelCase: "page[size]" -> "pageSize". */
export function fieldName(raw: string): string {
  if (GRAPHQL_NAME.test(raw) && !raw.startsWith('__')) return raw;
  const parts = words(raw);
  const name = parts.map((w, i) => (i === 0 ? w.charAt(0).toLowerCase() + w.slice(1) : capital(w))).join('') || 'field';
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** A valid enum value as it is; otherwise UPPER_SNAKE: "in-stock" -> "IN_STOCK", "1" -> "_1". */
export function enumValueName(raw: string): string {
  if (GRAPHQL_NAME.test(raw) && !['true', 'false', 'null'].includes(raw) && !raw.startsWith('__')) return raw;
  const name =
    words(raw)
      .map((w) => w.toUpperCase())
      .join('_') || 'EMPTY';
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/** Unique names within one scope (a file's types, a type's fields, an enum's values). */
export class NameRegistry {
  readonly #taken = new Set<string>();

  constructor(reserved: Iterable<string> = []) {
    for (const name of reserved) this.#taken.add(name);
  }

  claim(wanted: string): string {
    let name = wanted;
    for (let n = 2; this.#taken.has(name); n++) name = `${wanted}${n}`;
    this.#taken.add(name);
    return name;
  }
}

/** A JSON pointer to a place in the document, for the report of what was left out. */
export function pointer(...segments: (string | number)[]): string {
  return `#/${segments.map((s) => String(s).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;
}

/** Code-unit order: the same on every machine, whatever its locale (localeCompare is not). */
export function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
