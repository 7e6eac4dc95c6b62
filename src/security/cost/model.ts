// What both cost analyses read (estimate.ts before execution, actual.ts after it): the
// @cost and @listSize directives kept in the served schema's AST, and an operation's fields
// grouped per concrete type the way execution groups them (fragments applied, @skip and
// @include evaluated, fields of one response key merged), so that the two analyses count the
// same fields and differ only in where list sizes come from. The schema lookups are cached
// in WeakMaps keyed by schema objects: a reload builds new objects and the old entries go.
import {
  type ConstDirectiveNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type FragmentSpreadNode,
  type GraphQLArgument,
  type GraphQLField,
  GraphQLIncludeDirective,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  GraphQLSkipDirective,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  type InlineFragmentNode,
  isAbstractType,
  isCompositeType,
  isInputObjectType,
  isListType,
  isNonNullType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import { readDirective } from '../../config/directives.js';

/** What the analyses need of one operation: the document resolved against its variables. */
export interface PreparedOperation {
  schema: GraphQLSchema;
  operation: OperationDefinitionNode;
  fragments: Map<string, FragmentDefinitionNode>;
  /** Coerced variable values (defaults applied), as execution will see them. */
  variables: Record<string, unknown>;
}

/**
 * undefined when there is nothing to analyse: no such operation, or variables that do not
 * coerce. Execution then fails with graphql-js's own error before any resolver runs.
 */
export function prepareOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  rawVariables: Readonly<Record<string, unknown>> | null | undefined,
): PreparedOperation | undefined {
  const operation = getOperationAST(document, operationName);
  if (!operation) return undefined;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {});
  if (coerced.errors) return undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  return { schema, operation, fragments, variables: coerced.coerced };
}

/** The spec's numeric string ("2.5") or Apollo's number (2); anything else: no weight. */
function costWeight(
  nodes: readonly ({ readonly directives?: readonly ConstDirectiveNode[] } | null | undefined)[],
): number | undefined {
  for (const node of nodes) {
    const directive = node?.directives?.find((d) => d.name.value === 'cost');
    const value = directive?.arguments?.find((a) => a.name.value === 'weight')?.value;
    if (!value) continue;
    const n =
      value.kind === Kind.STRING || value.kind === Kind.INT || value.kind === Kind.FLOAT ? Number(value.value) : NaN;
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

const typeWeights = new WeakMap<GraphQLNamedType, number>();

/**
 * @cost on the type, else 1 for objects, 0 for scalars and enums. An interface or union
 * cannot carry @cost (spec 7.2): it weighs as much as its heaviest possible type.
 */
export function typeWeight(schema: GraphQLSchema, type: GraphQLNamedType): number {
  let w = typeWeights.get(type);
  if (w === undefined) {
    if (isAbstractType(type)) w = Math.max(0, ...schema.getPossibleTypes(type).map((t) => typeWeight(schema, t)));
    else w = costWeight([type.astNode, ...(type.extensionASTNodes ?? [])]) ?? (isCompositeType(type) ? 1 : 0);
    typeWeights.set(type, w);
  }
  return w;
}

export interface ListSize {
  assumedSize?: number;
  slicingArguments: string[];
  sizedFields: string[];
  requireOneSlicingArgument: boolean;
}

export interface FieldCost {
  /** @cost on the field; undefined: the weight of the type it returns. */
  weight?: number;
  listSize?: ListSize;
  /** List levels of the return type: 0 for a single value, 2 for [[T]]. */
  listDepth: number;
}

const fieldCosts = new WeakMap<GraphQLField<unknown, unknown>, FieldCost>();

export function fieldCost(field: GraphQLField<unknown, unknown>): FieldCost {
  let info = fieldCosts.get(field);
  if (!info) {
    const node = field.astNode?.directives?.find((d) => d.name.value === 'listSize');
    let listSize: ListSize | undefined;
    if (node) {
      const v = readDirective(node) as {
        assumedSize?: number | null;
        slicingArguments?: string[] | null;
        sizedFields?: string[] | null;
        requireOneSlicingArgument?: boolean;
      };
      listSize = {
        assumedSize: v.assumedSize ?? undefined,
        slicingArguments: v.slicingArguments ?? [],
        sizedFields: v.sizedFields ?? [],
        requireOneSlicingArgument: v.requireOneSlicingArgument !== false,
      };
    }
    info = { weight: costWeight([field.astNode]), listSize, listDepth: listDepth(field.type) };
    fieldCosts.set(field, info);
  }
  return info;
}

function listDepth(type: GraphQLOutputType): number {
  let depth = 0;
  let t: GraphQLOutputType = type;
  while (isListType(t) || isNonNullType(t)) {
    if (isListType(t)) depth++;
    t = t.ofType as GraphQLOutputType;
  }
  return depth;
}

const inputWeights = new WeakMap<GraphQLArgument | GraphQLInputField, number>();

/** @cost on the argument or input field, else 1 for an input object and 0 for a scalar or enum (spec 7.1). */
function inputWeight(def: GraphQLArgument | GraphQLInputField): number {
  let w = inputWeights.get(def);
  if (w === undefined) {
    w = costWeight([def.astNode]) ?? (isInputObjectType(getNamedType(def.type)) ? 1 : 0);
    inputWeights.set(def, w);
  }
  return w;
}

/** The field's arguments as its resolver receives them (written, from variables, or defaults). */
export function argumentValues(
  field: GraphQLField<unknown, unknown>,
  node: FieldNode,
  op: PreparedOperation,
): Record<string, unknown> {
  return field.args.length ? getArgumentValues(field, node, op.variables) : {};
}

/**
 * Spec 5.3.2.2, Arguments: each argument the resolver receives with a non-null value adds its
 * weight and the cost of the input fields used in it, recursively (through list items too).
 * The sum may be negative; the field's total is clamped at zero by the caller.
 */
export function argumentsCost(field: GraphQLField<unknown, unknown>, values: Record<string, unknown>): number {
  let sum = 0;
  for (const arg of field.args) sum += inputCost(arg, values[arg.name]);
  return sum;
}

function inputCost(def: GraphQLArgument | GraphQLInputField, value: unknown): number {
  if (value === undefined || value === null) return 0;
  let sum = inputWeight(def);
  const type = getNamedType(def.type);
  if (!isInputObjectType(type)) return sum;
  const fields = Object.values(type.getFields());
  for (const item of items(value))
    for (const f of fields) sum += inputCost(f, (item as Record<string, unknown>)[f.name]);
  return sum;
}

/** A value and, for a list, each of its items (nested lists flattened); nulls are skipped. */
export function* items(value: unknown): Generator<unknown> {
  if (!Array.isArray(value)) {
    if (value !== null && value !== undefined) yield value;
    return;
  }
  for (const v of value) yield* items(v);
}

function included(
  node: { readonly directives?: readonly DirectiveNode[] },
  variables: Record<string, unknown>,
): boolean {
  if (!node.directives?.length) return true;
  if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if !== false;
}

/**
 * The fields executed on an object of `type` for these selection sets, by response key, as
 * graphql-js's collectFields does: a fragment applies when its type condition is the type
 * or an abstract type containing it, each named fragment is expanded once per call.
 */
export function collectFields(
  op: PreparedOperation,
  type: GraphQLObjectType,
  sets: readonly SelectionSetNode[],
  /** Told of each fragment spread or inline fragment that applies (the cost preview counts their directives). */
  onFragment?: (fragment: FragmentSpreadNode | InlineFragmentNode) => void,
): Map<string, FieldNode[]> {
  const fields = new Map<string, FieldNode[]>();
  const visited = new Set<string>();
  const applies = (condition: string | undefined) => {
    if (!condition || condition === type.name) return true;
    const t = op.schema.getType(condition);
    return !!t && isAbstractType(t) && op.schema.isSubType(t, type);
  };
  const visit = (set: SelectionSetNode) => {
    for (const s of set.selections) {
      if (!included(s, op.variables)) continue;
      if (s.kind === Kind.FIELD) {
        const key = s.alias?.value ?? s.name.value;
        const list = fields.get(key);
        if (list) list.push(s);
        else fields.set(key, [s]);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        if (!applies(s.typeCondition?.name.value)) continue;
        onFragment?.(s);
        visit(s.selectionSet);
      } else if (!visited.has(s.name.value)) {
        visited.add(s.name.value);
        const fragment = op.fragments.get(s.name.value);
        if (!fragment || !applies(fragment.typeCondition.name.value)) continue;
        onFragment?.(s);
        visit(fragment.selectionSet);
      }
    }
  };
  sets.forEach(visit);
  return fields;
}

/** The selection sets under a merged field's nodes. */
export function subSelections(nodes: readonly FieldNode[]): SelectionSetNode[] {
  return nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
}

/**
 * How the weights combine (README, "Cost"):
 * - 'ibm', the IBM Cost Directives spec's field cost: a field's weight counts once per time
 *   its resolver runs, its children once per item: `authors(limit: 5) { email }` with email
 *   @cost 2 is 1 + 5 x 2 = 11;
 * - 'apollo', Apollo Router's demand control: a list field's weight counts once per item, and
 *   a mutation adds 10: the same operation is 5 x (1 + 2) = 15.
 */
export type CostModel = 'ibm' | 'apollo';

/** Apollo's base cost of an operation type: mutations 10, others 0. The IBM spec has none. */
export const APOLLO_MUTATION_BASE_COST = 10;

export function operationBaseCost(op: PreparedOperation, model: CostModel): number {
  return model === 'apollo' && op.operation.operation === 'mutation' ? APOLLO_MUTATION_BASE_COST : 0;
}

/**
 * The cost of one field occurrence from its parts: `own` its weight (with `args` the cost of
 * its arguments), `each` what one item's selections cost, `n` its list size (1 for a single
 * value). Never negative (spec 7.1).
 */
export function combineFieldCost(model: CostModel, own: number, args: number, each: number, n: number): number {
  if (model === 'ibm') return Math.max(0, own + args) + n * each;
  return Math.max(0, n * (own + each) + args);
}

/** Costs are sums of weights such as 0.1: round away the float noise before they are compared or shown. */
export function roundCost(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
