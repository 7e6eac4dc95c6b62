// What the composition model knows of enums, unions and interfaces across sources: each
// enum's values with their upstream spelling (@enumValue), and each union's or interface's
// members with its @discriminator. Sources may define the same enum or union more than once;
// they must then agree, since the flat schema has one mapping for each.
import { type DefinitionNode, type DirectiveNode, Kind } from 'graphql';
import { readDirective } from '../config/directives.js';
import type { SourceFile } from '../config/load-folder.js';
import type { ProblemList } from '../config/problems.js';

export interface EnumsAndUnions {
  /** Enum name -> the upstream values it can represent (its @enumValue spellings, else its names). */
  enums: Map<string, Set<string>>;
  /** Enum name -> GraphQL value name -> upstream value. */
  enumValues: Map<string, Map<string, string>>;
  /** Union or interface name -> how its objects' types are told apart. */
  discriminators: Map<string, Discriminator>;
  /** Union or interface name -> its member (or implementing) object types. */
  abstracts: Map<string, Set<string>>;
}

export function readEnumsAndUnions(sources: readonly SourceFile[], problems: ProblemList): EnumsAndUnions {
  const enumValues = new Map<string, Map<string, string>>();
  /** Enum name -> upstream value -> the GraphQL value it was first given to. */
  const spelled = new Map<string, Map<string, string>>();
  const members = new Map<string, Set<string>>();
  const discriminatorNodes = new Map<string, { node: DirectiveNode; file: string }>();
  for (const source of sources) {
    for (const def of source.document.definitions) {
      if (def.kind === Kind.ENUM_TYPE_DEFINITION || def.kind === Kind.ENUM_TYPE_EXTENSION) {
        const values = enumValues.get(def.name.value) ?? new Map<string, string>();
        enumValues.set(def.name.value, values);
        const owners = spelled.get(def.name.value) ?? new Map<string, string>();
        spelled.set(def.name.value, owners);
        for (const v of def.values ?? []) {
          const node = v.directives?.find((d) => d.name.value === 'enumValue');
          const upstream = node ? (readDirective(node).value as string) : v.name.value;
          const earlier = values.get(v.name.value);
          if (earlier !== undefined && earlier !== upstream) {
            problems.at(
              node ?? v,
              source.file,
              `${def.name.value}.${v.name.value} is "${upstream}" upstream here but "${earlier}" in another file; one enum has one spelling per value`,
            );
          }
          const owner = owners.get(upstream);
          if (owner !== undefined && owner !== v.name.value) {
            problems.at(
              node ?? v,
              source.file,
              `${def.name.value}.${v.name.value} and ${def.name.value}.${owner} both map to "${upstream}"`,
            );
          }
          owners.set(upstream, v.name.value);
          values.set(v.name.value, upstream);
        }
      }
      collectMembers(def, members);
      const node = discriminatorOf(def);
      if (node && 'name' in def && def.name) {
        const other = discriminatorNodes.get(def.name.value);
        if (other) problems.at(node, source.file, `${def.name.value} has a @discriminator in ${other.file} already`);
        else discriminatorNodes.set(def.name.value, { node, file: source.file });
      }
    }
  }
  const enums = new Map<string, Set<string>>();
  for (const [name, values] of enumValues) enums.set(name, new Set(values.values()));
  const discriminators = new Map<string, Discriminator>();
  for (const [name, { node, file }] of discriminatorNodes) {
    const known = [...(members.get(name) ?? [])];
    const discriminator = readDiscriminator(node, known);
    for (const type of discriminator.types?.values() ?? []) {
      if (!known.includes(type))
        problems.at(
          node,
          file,
          `@discriminator on ${name} names type ${type}, which is not one of its members (${known.join(', ') || 'none'})`,
        );
    }
    discriminators.set(name, discriminator);
  }
  return { enums, enumValues, discriminators, abstracts: members };
}

export interface Discriminator {
  field: string;
  /** value -> member type; undefined: the value is the member's name, compared case-insensitively. */
  types?: Map<string, string>;
  members: readonly string[];
}

export function readDiscriminator(
  node: Parameters<typeof readDirective>[0],
  members: readonly string[],
): Discriminator {
  const args = readDirective(node) as { field: string; types?: { value: string; type: string }[] | null };
  return {
    field: args.field,
    types: args.types ? new Map(args.types.map((t) => [t.value, t.type])) : undefined,
    members,
  };
}

function collectMembers(def: DefinitionNode, members: Map<string, Set<string>>): void {
  const add = (abstract: string, member: string) => {
    let set = members.get(abstract);
    if (!set) members.set(abstract, (set = new Set()));
    set.add(member);
  };
  if (def.kind === Kind.UNION_TYPE_DEFINITION || def.kind === Kind.UNION_TYPE_EXTENSION) {
    for (const t of def.types ?? []) add(def.name.value, t.name.value);
  }
  if (def.kind === Kind.OBJECT_TYPE_DEFINITION || def.kind === Kind.OBJECT_TYPE_EXTENSION) {
    for (const i of def.interfaces ?? []) add(i.name.value, def.name.value);
  }
}

function discriminatorOf(def: DefinitionNode): DirectiveNode | undefined {
  if (
    def.kind !== Kind.UNION_TYPE_DEFINITION &&
    def.kind !== Kind.UNION_TYPE_EXTENSION &&
    def.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
    def.kind !== Kind.INTERFACE_TYPE_EXTENSION
  )
    return undefined;
  return def.directives?.find((d) => d.name.value === 'discriminator');
}
