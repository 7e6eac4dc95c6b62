// The actual cost of an executed operation, read from its result (the spec's "query response
// analysis", 5.1.3): the formula of estimate.ts with each list counted at the length it was
// returned. It is what a client pays in the end: the budget refunds estimate − actual, so a
// query asking for `first: 100` that gets 3 items pays for 3.
//
// - 'ibm': a field in the data costs its weight and arguments once (its resolver ran), plus
//   its selections for every item. 'apollo': a field whose value is null (not found, or
//   nulled by an error) costs only its arguments, every other item w(f) plus its selections.
//   In both, a null item of a list costs nothing under it (spec 5.1.2: errors produce no data).
// - An object of an interface or union is costed as its `__typename` when the response holds
//   it, else as the most expensive of its possible types counting only the fields present in
//   the data: an upper bound, exact unless two possible types share field names.
// - No data at all (execution failed at the root): the operation's base cost only.
// - Never above the estimate when every list is within the size the estimate assumed.
//
// This runs on every response, over every object in it, so the walk is planned once per
// selection set and type (and kept across requests for operations without variables): per
// object it only adds numbers. A field that always costs 0 (a scalar or enum of weight 0
// without costed arguments) is left out of the plan.
import {
  type GraphQLAbstractType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  isAbstractType,
  isObjectType,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import {
  argumentsCost,
  argumentValues,
  type CostModel,
  collectFields,
  fieldCost,
  operationBaseCost,
  type PreparedOperation,
  roundCost,
  subSelections,
  typeWeight,
} from './model.js';

interface FieldPlan {
  key: string;
  listDepth: number;
  argsCost: number;
  /** Cost of one item that is not an object (a scalar or enum). */
  leafWeight: number;
  /** For object-typed fields: the field's own weight per item and the plan under it. */
  object?: { weight: number; plan: () => FieldPlan[] };
  /** For interface / union fields: a plan per possible type. */
  abstract?: AbstractPlan;
}

interface AbstractPlan {
  schema: GraphQLSchema;
  named: GraphQLAbstractType;
  /** @cost on the field; else each possible type's own weight. */
  weight: number | undefined;
  plan: (type: GraphQLObjectType) => FieldPlan[];
}

// Plans of operations without variables (so without variable-dependent @skip/@include or
// arguments), kept with the operation's AST node.
const sharedPlans = new WeakMap<OperationDefinitionNode, Planner>();

export function actualCost(
  op: PreparedOperation,
  data: Record<string, unknown> | null | undefined,
  model: CostModel = 'ibm',
): number {
  const root = op.schema.getRootType(op.operation.operation);
  const base = operationBaseCost(op, model);
  if (!root || !data) return base;
  let planner = op.operation.variableDefinitions?.length ? undefined : sharedPlans.get(op.operation);
  if (!planner) {
    planner = new Planner(op);
    if (!op.operation.variableDefinitions?.length) sharedPlans.set(op.operation, planner);
  }
  return roundCost(base + objectCost(planner.plan(root, [op.operation.selectionSet]), data, model));
}

function objectCost(plan: readonly FieldPlan[], data: Record<string, unknown>, model: CostModel): number {
  let cost = 0;
  for (const f of plan) {
    if (!(f.key in data)) continue;
    const v = data[f.key];
    if (model === 'ibm') cost += Math.max(0, ownWeight(f, v) + f.argsCost) + itemsCost(f, v, f.listDepth, model, false);
    else {
      const c = itemsCost(f, v, f.listDepth, model, true) + f.argsCost;
      if (c > 0) cost += c;
    }
  }
  return cost;
}

/** The field's weight for 'ibm': @cost on it, else its type's (an abstract type's, its value's own type when known). */
function ownWeight(f: FieldPlan, v: unknown): number {
  if (f.object) return f.object.weight;
  if (f.abstract) {
    if (f.abstract.weight !== undefined) return f.abstract.weight;
    const single =
      v !== null && typeof v === 'object' && !Array.isArray(v)
        ? concreteType(f.abstract, v as Record<string, unknown>)
        : undefined;
    return typeWeight(f.abstract.schema, single ?? f.abstract.named);
  }
  return f.leafWeight;
}

/** What the items of a value cost; `withWeight`: each item also counts the field's weight ('apollo'). */
function itemsCost(f: FieldPlan, v: unknown, depth: number, model: CostModel, withWeight: boolean): number {
  if (v === null || v === undefined) return 0;
  if (depth > 0 && Array.isArray(v)) {
    let sum = 0;
    for (const x of v) sum += itemsCost(f, x, depth - 1, model, withWeight);
    return sum;
  }
  if (f.object)
    return (withWeight ? f.object.weight : 0) + objectCost(f.object.plan(), v as Record<string, unknown>, model);
  if (f.abstract) return abstractCost(f.abstract, v as Record<string, unknown>, model, withWeight);
  return withWeight ? f.leafWeight : 0;
}

function concreteType(a: AbstractPlan, obj: Record<string, unknown>): GraphQLObjectType | undefined {
  const own = typeof obj.__typename === 'string' ? a.schema.getType(obj.__typename) : undefined;
  return own && isObjectType(own) && a.schema.isSubType(a.named, own) ? own : undefined;
}

function abstractCost(a: AbstractPlan, obj: Record<string, unknown>, model: CostModel, withWeight: boolean): number {
  const own = concreteType(a, obj);
  const candidates = own ? [own] : a.schema.getPossibleTypes(a.named);
  let max = 0;
  for (const t of candidates) {
    const weight = withWeight ? (a.weight ?? typeWeight(a.schema, t)) : 0;
    max = Math.max(max, weight + objectCost(a.plan(t), obj, model));
  }
  return max;
}

class Planner {
  readonly #op: PreparedOperation;
  readonly #plans = new Map<string, FieldPlan[]>();
  readonly #ids = new Map<SelectionSetNode, number>();

  constructor(op: PreparedOperation) {
    this.#op = op;
  }

  plan(type: GraphQLObjectType, sets: readonly SelectionSetNode[]): FieldPlan[] {
    const key = `${type.name}|${sets.map((s) => this.#id(s)).join(',')}`;
    let plan = this.#plans.get(key);
    if (!plan) this.#plans.set(key, (plan = this.#build(type, sets)));
    return plan;
  }

  #build(type: GraphQLObjectType, sets: readonly SelectionSetNode[]): FieldPlan[] {
    const { schema } = this.#op;
    const plan: FieldPlan[] = [];
    for (const [key, nodes] of collectFields(this.#op, type, sets)) {
      const def = type.getFields()[nodes[0].name.value];
      if (!def) continue; // introspection
      const info = fieldCost(def);
      const argsCost = argumentsCost(def, argumentValues(def, nodes[0], this.#op));
      const named = getNamedType(def.type);
      const children = subSelections(nodes);
      const f: FieldPlan = { key, listDepth: info.listDepth, argsCost, leafWeight: 0 };
      if (isObjectType(named)) {
        let child: FieldPlan[] | undefined;
        f.object = {
          weight: info.weight ?? typeWeight(schema, named),
          plan: () => (child ??= this.plan(named, children)),
        };
      } else if (isAbstractType(named)) {
        const byType = new Map<string, FieldPlan[]>();
        const plan = (t: GraphQLObjectType) => {
          let p = byType.get(t.name);
          if (!p) byType.set(t.name, (p = this.plan(t, children)));
          return p;
        };
        f.abstract = { schema, named, weight: info.weight, plan };
      } else {
        f.leafWeight = info.weight ?? typeWeight(schema, named);
        if (f.leafWeight === 0 && argsCost === 0) continue; // always 0: nothing to add per object
      }
      plan.push(f);
    }
    return plan;
  }

  #id(set: SelectionSetNode): number {
    let id = this.#ids.get(set);
    if (id === undefined) this.#ids.set(set, (id = this.#ids.size + 1));
    return id;
  }
}
