// The estimated cost of an operation, computed before execution so that an expensive one
// is refused before any upstream is called (the IBM GraphQL Cost Directives spec's "static
// query analysis"; README, "Cost").
//
// The cost model, in the spec's reading (CostModel 'ibm', the default) and Apollo Router's
// ('apollo', for schemas and limits moved from Apollo):
//
//   cost(operation) = base + Σ cost(f) over the root fields   base: 0; 'apollo': mutation 10
//   ibm:    cost(f) = max(0, w(f) + args(f)) + n(f) × Σ cost(g) over the fields under f
//   apollo: cost(f) = max(0, n(f) × (w(f) + Σ cost(g) over the fields under f) + args(f))
//   w(f)            = @cost on the field, else @cost on the type it returns, else the spec's
//                     default: 1 for an object, 0 for a scalar or enum
//   args(f)         = for each argument the resolver receives with a non-null value (written,
//                     from a variable, or the schema default): its @cost (default 1 for an
//                     input object, 0 for a scalar or enum) plus, recursively, the same for
//                     each input field set in it (list items each count). May be negative.
//   n(f)            = 1 for a single value. For a list:
//                     1. the size a parent's @listSize(sizedFields:) hands to this field,
//                     2. else the largest of its slicing arguments that has a value (a default
//                        counts as given, spec 8.2),
//                     3. else @listSize(assumedSize:),
//                     4. else CostOptions.defaultListSize (10 unless --default-list-size says
//                        otherwise; the spec would assume infinity, Apollo uses a setting too).
//                     A list of lists multiplies by defaultListSize for each inner level.
//
// - 'ibm': a field's weight counts once per time its resolver runs (once per parent item),
//   so the spec's own example, `users(max: 5) { age }` with `age @cost(weight: "2.0")`,
//   costs 1 + 5 × 2 = 11. 'apollo': the weight of a list field counts once per item, 15.
// - sizedFields (spec 8.3): the slicing value or assumedSize sizes the named child fields
//   (a connection's `edges`, `nodes`), not the field itself, which has no size of its own.
// - requireOneSlicingArgument (default true, spec 8.4): a field with slicing arguments must
//   get exactly one with a value; otherwise the operation is refused before execution with
//   GRAPHQL_VALIDATION_FAILED, as Apollo refuses it (HTTP 400 under
//   application/graphql-response+json, 200 under application/json, like yoga's own
//   validation errors).
// - Interfaces and unions: an object of an abstract type costs as much as its most expensive
//   possible type, each type counting only the fields and fragments that apply to it (spec
//   7.2: an abstract type weighs as its heaviest member). Fragments are never summed across types.
// - @skip/@include are evaluated with the variables; skipped fields cost nothing. Fields that
//   share a response key are merged as execution merges them. Introspection fields
//   (__typename, __schema, __type) cost 0: the hardening options limit introspection.
// - A negative total for a field is rounded up to 0 (spec 7.1).
import {
  type FieldNode,
  type GraphQLField,
  type GraphQLObjectType,
  getNamedType,
  isAbstractType,
  isObjectType,
  type SelectionSetNode,
} from 'graphql';
import { slicingArgumentRequired } from '../../errors.js';
import {
  argumentsCost,
  argumentValues,
  type CostModel,
  collectFields,
  combineFieldCost,
  fieldCost,
  type ListSize,
  operationBaseCost,
  type PreparedOperation,
  roundCost,
  subSelections,
  typeWeight,
} from './model.js';
import { CostTally } from './tally.js';

export const DEFAULT_LIST_SIZE = 10;

/**
 * Throws a QuiltError (GRAPHQL_VALIDATION_FAILED) when a @listSize field does not get exactly
 * one slicing argument and requires it.
 */
export function estimateCost(
  op: PreparedOperation,
  defaultListSize = DEFAULT_LIST_SIZE,
  model: CostModel = 'ibm',
): number {
  const root = op.schema.getRootType(op.operation.operation);
  if (!root) return 0;
  return roundCost(
    operationBaseCost(op, model) +
      new Estimator(op, defaultListSize, model, undefined).object(root, [op.operation.selectionSet]).cost,
  );
}

export interface CostDetails {
  /** What estimateCost returns for the same operation: the number the limits use. */
  fieldCost: number;
  /** The counts, the type cost and (with `locations`) the cost of each place, over the whole operation. */
  tally: CostTally;
}

/**
 * The estimate with what the cost preview shows of it (tally.ts), from the same walk:
 * `fieldCost` is always estimateCost's number. Locations are paths of response keys, under
 * the operation's name when it has one (which is then a location too: the whole operation).
 */
export function estimateCostDetails(
  op: PreparedOperation,
  defaultListSize: number,
  model: CostModel,
  options: { locations: boolean },
): CostDetails {
  const root = op.schema.getRootType(op.operation.operation);
  const tally = new CostTally(options.locations);
  if (!root) return { fieldCost: 0, tally };
  const estimator = new Estimator(op, defaultListSize, model, options);
  const rootCost = estimator.object(root, [op.operation.selectionSet]);
  const fieldCost = roundCost(operationBaseCost(op, model) + rootCost.cost);
  const name = op.operation.name?.value;
  tally.count('type', root.name);
  tally.typeCost += typeWeight(op.schema, root);
  if (name) tally.setLocation(name, { fieldCost, typeCost: tally.typeCost + (rootCost.tally?.typeCost ?? 0) });
  if (rootCost.tally) tally.add(rootCost.tally, 1, name ? `${name}.` : '');
  return { fieldCost, tally };
}

/** Sizes that a field's @listSize(sizedFields:) hands down to its child fields. */
interface Sizing {
  names: ReadonlySet<string>;
  size: number;
  key: string;
}

/** What one object's selections cost; with the preview's tally when one is being recorded. */
interface ObjectCost {
  cost: number;
  tally?: CostTally;
}

class Estimator {
  readonly #op: PreparedOperation;
  readonly #defaultListSize: number;
  readonly #model: CostModel;
  /** Set when the preview's counts are recorded (estimateCostDetails); the limits never do. */
  readonly #record: { locations: boolean } | undefined;
  /**
   * Per (type, selection sets, sizing): the cost of one object. Fragments spread under many
   * aliases would otherwise make the walk exponential in the document's size.
   */
  readonly #memo = new Map<string, ObjectCost>();
  readonly #ids = new Map<SelectionSetNode, number>();

  constructor(
    op: PreparedOperation,
    defaultListSize: number,
    model: CostModel,
    record: { locations: boolean } | undefined,
  ) {
    this.#op = op;
    this.#defaultListSize = defaultListSize;
    this.#model = model;
    this.#record = record;
  }

  /** The cost of the fields selected on one object of `type`. */
  object(type: GraphQLObjectType, sets: readonly SelectionSetNode[], sizing?: Sizing): ObjectCost {
    const key = `${type.name}|${sets.map((s) => this.#id(s)).join(',')}|${sizing?.key ?? ''}`;
    let result = this.#memo.get(key);
    if (result === undefined) {
      const tally = this.#record && new CostTally(this.#record.locations);
      let cost = 0;
      const fields = collectFields(this.#op, type, sets, tally && ((f) => tally.fragment(f)));
      for (const [responseKey, nodes] of fields) cost += this.#field(type, responseKey, nodes, sizing, tally);
      result = { cost, tally };
      this.#memo.set(key, result);
    }
    return result;
  }

  #field(
    parent: GraphQLObjectType,
    responseKey: string,
    nodes: FieldNode[],
    sizing: Sizing | undefined,
    tally: CostTally | undefined,
  ): number {
    const def = parent.getFields()[nodes[0].name.value];
    if (!def) return 0; // introspection
    const { schema } = this.#op;
    const info = fieldCost(def);
    const args = argumentValues(def, nodes[0], this.#op);
    const size = slicingSize(info.listSize, args, parent, def);
    const sized = info.listSize?.sizedFields.length ? info.listSize.sizedFields : undefined;
    const children: Sizing | undefined =
      sized && size !== undefined ? { names: new Set(sized), size, key: `${sized.join(',')}=${size}` } : undefined;
    let n = 1;
    if (info.listDepth > 0) {
      const outer = sizing?.names.has(def.name) ? sizing.size : sized ? undefined : size;
      n = (outer ?? this.#defaultListSize) * this.#defaultListSize ** (info.listDepth - 1);
    }
    const named = getNamedType(def.type);
    const sets = subSelections(nodes);
    const argsCost = argumentsCost(def, args);
    let cost: number;
    let child: ObjectCost | undefined;
    if (isObjectType(named)) {
      child = this.object(named, sets, children);
      cost = combineFieldCost(this.#model, info.weight ?? typeWeight(schema, named), argsCost, child.cost, n);
    } else if (isAbstractType(named)) {
      // The most expensive possible type (spec 7.2); 'ibm' weighs the field as the abstract
      // type (its heaviest member), 'apollo' each possible type with its own weight.
      cost = 0;
      for (const t of schema.getPossibleTypes(named)) {
        const each = this.object(t, sets, children);
        const c =
          this.#model === 'ibm'
            ? each.cost
            : combineFieldCost('apollo', info.weight ?? typeWeight(schema, t), argsCost, each.cost, n);
        if (!child || c > cost) [child, cost] = [each, c];
      }
      if (this.#model === 'ibm')
        cost = combineFieldCost('ibm', info.weight ?? typeWeight(schema, named), argsCost, child?.cost ?? 0, n);
      else cost = Math.max(0, cost);
    } else {
      cost = combineFieldCost(this.#model, info.weight ?? typeWeight(schema, named), argsCost, 0, n);
    }
    tally?.field({ schema, parent, def, key: responseKey, nodes, args, named, n, cost, child: child?.tally });
    return cost;
  }

  #id(set: SelectionSetNode): number {
    let id = this.#ids.get(set);
    if (id === undefined) this.#ids.set(set, (id = this.#ids.size + 1));
    return id;
  }
}

/** The size @listSize gives: the largest slicing argument with a value, else assumedSize. */
function slicingSize(
  listSize: ListSize | undefined,
  args: Record<string, unknown>,
  parent: GraphQLObjectType,
  def: GraphQLField<unknown, unknown>,
): number | undefined {
  if (!listSize) return undefined;
  const given = listSize.slicingArguments.map((a) => args[a]).filter((v): v is number => typeof v === 'number');
  if (listSize.slicingArguments.length && listSize.requireOneSlicingArgument && given.length !== 1) {
    throw slicingArgumentRequired(`${parent.name}.${def.name}`, listSize.slicingArguments, given.length);
  }
  return given.length ? Math.max(0, ...given) : (listSize.assumedSize ?? undefined);
}
