// A selection of every leaf of an output type down to a depth, with fragments for unions and
// interfaces, for tests that ask every field of a schema they did not write.
import {
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  isInterfaceType,
  isLeafType,
  isNonNullType,
  isObjectType,
  isUnionType,
} from 'graphql';

export interface Selector {
  schema: GraphQLSchema;
  /** The deepest level selected below the root field (1: the root field's own fields). */
  depth: number;
  aliases: number;
}

/** The selectable fields of an object or interface type, which sit at `level` (1: those of the root field's type). */
function fieldsOf(sel: Selector, type: GraphQLNamedType, level: number, clash: Set<string>): string[] {
  if (!isObjectType(type) && !isInterfaceType(type)) return [];
  const out: string[] = [];
  for (const f of Object.values(type.getFields())) {
    if (f.args.some((a) => isNonNullType(a.type))) continue;
    const sub = selectionOf(sel, f.type, level + 1);
    if (sub === undefined) continue;
    // Members of a union may type one field name differently: GraphQL wants such fields aliased.
    const alias = clash.has(f.name) ? `${type.name}_${f.name}: ` : '';
    if (alias) sel.aliases++;
    out.push(`${alias}${f.name}${sub ? ` ${sub}` : ''}`);
  }
  return out;
}

/** Field names the given object and interface types type differently. */
function clashes(types: readonly GraphQLNamedType[]): Set<string> {
  const seen = new Map<string, string>();
  const clash = new Set<string>();
  for (const t of types) {
    if (!isObjectType(t) && !isInterfaceType(t)) continue;
    for (const f of Object.values(t.getFields())) {
      const printed = String(f.type);
      if (seen.has(f.name) && seen.get(f.name) !== printed) clash.add(f.name);
      seen.set(f.name, printed);
    }
  }
  return clash;
}

/**
 * '' for a leaf; for a composite type, the selection set of its fields at `level` (fragments
 * add no level), or undefined when nothing is selectable down to sel.depth.
 */
export function selectionOf(sel: Selector, type: GraphQLOutputType, level: number): string | undefined {
  const named = getNamedType(type);
  if (isLeafType(named)) return '';
  if (level > sel.depth) return undefined;
  if (isUnionType(named) || isInterfaceType(named)) {
    const members = sel.schema.getPossibleTypes(named);
    const clash = clashes(isInterfaceType(named) ? [named, ...members] : members);
    const own = isInterfaceType(named) ? fieldsOf(sel, named, level, new Set()) : [];
    const fragments = members
      .map((m) => ({ m, fields: fieldsOf(sel, m, level, clash) }))
      .filter((x) => x.fields.length)
      .map(({ m, fields }) => `... on ${m.name} { ${fields.join(' ')} }`);
    return `{ __typename ${[...own, ...fragments].join(' ')} }`;
  }
  const fields = fieldsOf(sel, named, level, new Set());
  return fields.length ? `{ ${fields.join(' ')} }` : undefined;
}
