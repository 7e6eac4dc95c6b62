// The actual cost of an executed operation, read from its result (the spec's "query response
// analysis", 5.1.3): the formula of estimate.ts with each list counted at the length it was
// returned. It is what a client pays in the end: the budget refunds estimate − actual, so a
// query asking for `first: 100` that gets 3 items pays for 3.
//
// - A field whose value is null (not found, or nulled by an error) costs only its arguments:
//   its resolver ran, but nothing was produced under it (spec 5.1.2: errors produce no data).
// - A null item of a list costs nothing; every other item costs w(f) plus its selections.
// - An object of an interface or union is costed as its `__typename` when the response holds
//   it, else as the most expensive of its possible types counting only the fields present in
//   the data: an upper bound, exact unless two possible types share field names.
// - No data at all (execution failed at the root): the operation's base cost only.
// - Never above the estimate when every list is within the size the estimate assumed.
import { getNamedType, isAbstractType, isObjectType, type FieldNode, type GraphQLObjectType, type SelectionSetNode } from 'graphql';
import { argumentsCost, argumentValues, collectFields, fieldCost, operationBaseCost, roundCost, subSelections, typeWeight, type PreparedOperation } from './model.js';

export function actualCost(op: PreparedOperation, data: Record<string, unknown> | null | undefined): number {
  const root = op.schema.getRootType(op.operation.operation);
  const base = operationBaseCost(op);
  if (!root || !data) return base;
  return roundCost(base + new ResponseCounter(op).object(root, [op.operation.selectionSet], data));
}

class ResponseCounter {
  readonly #op: PreparedOperation;
  // A list of n objects has the same fields n times: collect them, and their arguments, once.
  readonly #fields = new Map<string, Map<string, FieldNode[]>>();
  readonly #args = new Map<FieldNode, { args: Record<string, unknown>; cost: number }>();
  readonly #ids = new Map<SelectionSetNode, number>();

  constructor(op: PreparedOperation) {
    this.#op = op;
  }

  object(type: GraphQLObjectType, sets: readonly SelectionSetNode[], data: Record<string, unknown>): number {
    let cost = 0;
    for (const [key, nodes] of this.#collect(type, sets)) {
      if (key in data) cost += this.#field(type, nodes, data[key]);
    }
    return cost;
  }

  #field(parent: GraphQLObjectType, nodes: FieldNode[], value: unknown): number {
    const def = parent.getFields()[nodes[0].name.value];
    if (!def) return 0; // introspection
    const { schema } = this.#op;
    const info = fieldCost(def);
    let args = this.#args.get(nodes[0]);
    if (!args) {
      const values = argumentValues(def, nodes[0], this.#op);
      this.#args.set(nodes[0], (args = { args: values, cost: argumentsCost(def, values) }));
    }
    const named = getNamedType(def.type);
    const sets = subSelections(nodes);
    const item = (v: unknown, depth: number): number => {
      if (v === null || v === undefined) return 0;
      if (depth > 0 && Array.isArray(v)) return v.reduce((sum: number, x) => sum + item(x, depth - 1), 0);
      if (isObjectType(named)) return (info.weight ?? typeWeight(schema, named)) + this.object(named, sets, v as Record<string, unknown>);
      if (isAbstractType(named)) {
        const obj = v as Record<string, unknown>;
        const own = typeof obj.__typename === 'string' ? schema.getType(obj.__typename) : undefined;
        const candidates = own && isObjectType(own) && schema.isSubType(named, own) ? [own] : schema.getPossibleTypes(named);
        return Math.max(0, ...candidates.map((t) => (info.weight ?? typeWeight(schema, t)) + this.object(t, sets, obj)));
      }
      return info.weight ?? typeWeight(schema, named);
    };
    return Math.max(0, item(value, info.listDepth) + args.cost);
  }

  #collect(type: GraphQLObjectType, sets: readonly SelectionSetNode[]): Map<string, FieldNode[]> {
    const key = `${type.name}|${sets.map((s) => this.#id(s)).join(',')}`;
    let fields = this.#fields.get(key);
    if (!fields) this.#fields.set(key, (fields = collectFields(this.#op, type, sets)));
    return fields;
  }

  #id(set: SelectionSetNode): number {
    let id = this.#ids.get(set);
    if (id === undefined) this.#ids.set(set, (id = this.#ids.size + 1));
    return id;
  }
}
