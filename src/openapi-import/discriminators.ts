// What a discriminator gives the union or interface schema-types.ts makes of it: the value
// each member is told by, and, for an interface, children whose inherited fields match it.
import { mergeAllOf, type Schema } from './json-schema.js';
import { byCodeUnits } from './names.js';
import type { Discriminator, ObjectDef, Reporter } from './type-defs.js';

const bare = (type: string) => type.replace(/[[\]!]/g, '');

/**
 * discriminator.mapping (a schema name or a "#/components/schemas/X" ref) first; then, for a
 * member it does not map, the values its schema allows for the property and its schema name
 * (the implicit mapping). `names[i]` is member i's schema name, if it has one; a member left
 * with no value is reported.
 */
export function discriminatorTypes(
  disc: Schema,
  options: Schema[],
  names: (string | undefined)[],
  members: string[],
  where: string,
  report: Reporter,
): Discriminator['types'] {
  const byName = new Map<string, string>();
  names.forEach((name, i) => {
    if (name) byName.set(name, members[i]!);
  });
  const types: Discriminator['types'] = [];
  const mapping = (disc.mapping ?? {}) as Record<string, string>;
  for (const value of Object.keys(mapping).sort()) {
    const target = mapping[value]!.replace(/^.*\//, '');
    const type = byName.get(target) ?? byName.get(decodeURIComponent(target));
    if (type) types.push({ value, type });
    else
      report(
        `${where}/discriminator/mapping/${value}`,
        `maps to ${mapping[value]}, which is not one of the members`,
        true,
      );
  }
  const mapped = new Set(types.map((t) => t.type));
  const taken = new Set(types.map((t) => t.value));
  const add = (value: string, type: string) => {
    if (!taken.has(value)) types.push({ value, type });
    taken.add(value);
  };
  // A member the mapping leaves out: the values its own schema allows for the property (an
  // enum or const, as real documents such as Spotify's write it), and its schema name.
  options.forEach((option, i) => {
    if (mapped.has(members[i]!)) return;
    for (const value of ownValues(option, disc.propertyName)) add(value, members[i]!);
  });
  for (const [name, type] of [...byName].sort(([a], [b]) => byCodeUnits(a, b))) {
    if (!mapped.has(type)) add(name, type);
  }
  for (const m of new Set(members.filter((m) => !types.some((t) => t.type === m))))
    report(
      where,
      `the inline member ${m} has no discriminator value (no mapping, no enum or const for it, no schema name): its objects cannot be resolved`,
    );
  return types;
}

/** The string values a member's schema allows for the discriminator property. */
function ownValues(option: Schema, property: string): string[] {
  const schema = mergeAllOf(option).properties?.[property] as Schema | undefined;
  if (!schema) return [];
  const values: unknown[] = schema.const !== undefined ? [schema.const] : (schema.enum ?? []);
  return values.filter((v): v is string => typeof v === 'string');
}

/**
 * A child that narrows an inherited property (an enum of one value for the discriminator,
 * a stricter object) returns the interface's type for it: GraphQL wants the types to match,
 * and every value of the narrower schema is one of the wider one.
 */
export function conformToInterface(child: ObjectDef | undefined, iface: ObjectDef): void {
  if (!child) return;
  for (const field of iface.fields) {
    const own = child.fields.find((f) => f.name === field.name);
    if (own && bare(own.type) !== bare(field.type)) own.type = field.type;
  }
}
