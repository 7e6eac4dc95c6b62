// What the cost preview (`__cost`, README "Cost preview") reports besides the cost, recorded by
// the same walk that computes the cost (estimate.ts) so that the two never disagree: the
// spec's counts (section 5.3.1: how many times each field's resolver runs, how many values of
// each type are produced, and the arguments, input types, input fields and directives those
// runs use), the type cost (the weighted sum of the type counts, 5.3.2.1) and, when asked,
// the field and type cost of each place in the operation.
//
// The walk computes one object's tally once per selection and multiplies it by the number of
// objects (a list's size), as it does the cost: so a tally holds counts for one object and its
// parent field scales it. Keys follow the spec's examples: "User.name" (field), "User" (type),
// "UserInput" (input type), "UserInput.name" (input field), "Query.users.limit" and
// "@skip.if" (argument), "@include" (directive). Locations are response-key paths
// ("users.friends"), one per field as execution merges them.
import {
  type DirectiveNode,
  type FieldNode,
  type FragmentSpreadNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  type InlineFragmentNode,
  isInputObjectType,
} from 'graphql';
import { badUserInput } from '../../errors.js';
import { items, typeWeight } from './model.js';

export const COUNT_KINDS = ['field', 'type', 'inputType', 'inputField', 'argument', 'directive'] as const;
export type CountKind = (typeof COUNT_KINDS)[number];

export interface LocationCost {
  fieldCost: number;
  typeCost: number;
}

/**
 * Locations grow with the operation's expanded size (a fragment spread under many aliases is
 * a place each time); past this many the preview refuses rather than build a huge answer.
 */
export const MAX_COST_LOCATIONS = 10_000;

export class CostTally {
  readonly counts: Record<CountKind, Map<string, number>> = {
    field: new Map(),
    type: new Map(),
    inputType: new Map(),
    inputField: new Map(),
    argument: new Map(),
    directive: new Map(),
  };
  typeCost = 0;
  /** By path relative to the object this tally is for; undefined when locations are not recorded. */
  readonly locations: Map<string, LocationCost> | undefined;

  constructor(withLocations: boolean) {
    this.locations = withLocations ? new Map() : undefined;
  }

  count(kind: CountKind, name: string, by = 1): void {
    const map = this.counts[kind];
    map.set(name, (map.get(name) ?? 0) + by);
  }

  /** Adds `times` objects' worth of `other`, its locations under `prefix`. */
  add(other: CostTally, times: number, prefix = ''): void {
    if (times === 0) return;
    for (const kind of COUNT_KINDS) for (const [name, n] of other.counts[kind]) this.count(kind, name, n * times);
    this.typeCost += other.typeCost * times;
    if (!this.locations || !other.locations) return;
    for (const [path, c] of other.locations) {
      this.setLocation(prefix + path, { fieldCost: c.fieldCost * times, typeCost: c.typeCost * times });
    }
  }

  setLocation(path: string, cost: LocationCost): void {
    if (!this.locations) return;
    this.locations.set(path, cost);
    if (this.locations.size > MAX_COST_LOCATIONS)
      throw badUserInput(
        `The operation has more than ${MAX_COST_LOCATIONS} field locations; ask fieldCostByLocation and typeCostByLocation of a smaller operation.`,
      );
  }

  /** The directives on a fragment that applied to one object, and their arguments. */
  fragment(node: FragmentSpreadNode | InlineFragmentNode): void {
    if (node.directives?.length) this.#directives(node.directives, new Set());
  }

  #directives(directives: readonly DirectiveNode[], seen: Set<string>): void {
    for (const d of directives) {
      const name = `@${d.name.value}`;
      if (seen.has(name)) continue;
      seen.add(name);
      this.count('directive', name);
      for (const a of d.arguments ?? []) this.count('argument', `${name}.${a.name.value}`);
    }
  }

  /**
   * One run of a field's resolver on one object: the field, the `n` values of its type it
   * produces (a list's size, else 1), the arguments, input types and input fields it receives,
   * the directives written on it, and `n` times what one object below it costs.
   */
  field(run: FieldRun): void {
    const { schema, parent, def, named } = run;
    const coordinate = `${parent.name}.${def.name}`;
    this.count('field', coordinate);
    this.count('type', named.name, run.n);
    const ownTypeCost = run.n * typeWeight(schema, named);
    this.typeCost += ownTypeCost;
    const inputTypes = new Set<string>();
    const inputFields = new Set<string>();
    for (const arg of def.args) {
      const value = run.args[arg.name];
      if (value === undefined || value === null) continue;
      this.count('argument', `${coordinate}.${arg.name}`);
      inputUses(getNamedType(arg.type), value, inputTypes, inputFields);
    }
    for (const t of inputTypes) this.count('inputType', t);
    for (const f of inputFields) this.count('inputField', f);
    const seen = new Set<string>();
    for (const node of run.nodes) if (node.directives?.length) this.#directives(node.directives, seen);
    this.setLocation(run.key, {
      fieldCost: run.cost,
      typeCost: ownTypeCost + (run.child ? run.child.typeCost * run.n : 0),
    });
    if (run.child) this.add(run.child, run.n, `${run.key}.`);
  }
}

export interface FieldRun {
  schema: GraphQLSchema;
  parent: GraphQLObjectType;
  def: GraphQLField<unknown, unknown>;
  /** The response key: the alias, else the field's name. */
  key: string;
  nodes: readonly FieldNode[];
  /** The arguments as the resolver receives them. */
  args: Record<string, unknown>;
  /** The named type the field returns (for an interface or union: that abstract type). */
  named: GraphQLNamedType;
  /** Values produced per run: the list size, else 1. */
  n: number;
  /** The field's cost, as the estimate counts it. */
  cost: number;
  /** One object below the field (for an abstract type: the most expensive possible type's). */
  child?: CostTally;
}

/** The input object types and input fields (set to a non-null value) used in a value. */
function inputUses(type: GraphQLNamedType, value: unknown, types: Set<string>, fields: Set<string>): void {
  if (!isInputObjectType(type)) return;
  const defs = Object.values(type.getFields());
  for (const item of items(value)) {
    types.add(type.name);
    for (const f of defs) {
      const v = (item as Record<string, unknown>)[f.name];
      if (v === undefined || v === null) continue;
      fields.add(`${type.name}.${f.name}`);
      inputUses(getNamedType(f.type), v, types, fields);
    }
  }
}
