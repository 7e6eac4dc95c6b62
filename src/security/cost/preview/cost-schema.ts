// The cost introspection types of the IBM Cost Directives spec (section 6.1.2; README "Cost
// preview" quotes them): `__cost: __Cost!` on the query root type, `__Cost { requestCosts,
// responseCosts }`, `__CostMetrics` with the six counts, `fieldCost`, `typeCost` and the costs
// by location, `__CostCountType { name value }`, `__CostByLocation { path cost }`.
//
// graphql-js refuses names that begin with "__" in a schema it validates, and the spec wants
// `__cost` implicit (not listed among the root type's fields), so these types never join the
// served schema: they form a schema of their own, built here and marked valid (`assumeValid`),
// on which the `__cost` part of an operation (split-document.ts) is validated and run.

import { createRequire } from 'node:module';
import {
  type DocumentNode,
  type ExecutionResult,
  execute,
  type GraphQLError,
  type GraphQLFieldConfig,
  GraphQLFloat,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  specifiedRules,
  validate,
} from 'graphql';
import type { RE2JS } from 're2js';
import { badUserInput } from '../../../errors.js';
import { roundCost } from '../model.js';
import type { CountKind, LocationCost } from '../tally.js';

/** What `requestCosts` answers from (use-cost-preview.ts computes it from the estimate). */
export interface CostMetrics {
  fieldCost: number;
  typeCost: number;
  counts(kind: CountKind): ReadonlyMap<string, number>;
  /** Computed on first use: only an operation that asks for costs by location pays for them. */
  locations(): ReadonlyMap<string, LocationCost>;
}

/** The root value the `__cost` part runs on; a function is called when its field is asked. */
export interface CostRoot {
  __cost: { requestCosts: () => CostMetrics; responseCosts: null };
}

const CountType = new GraphQLObjectType({
  name: '__CostCountType',
  fields: { name: { type: new GraphQLNonNull(GraphQLString) }, value: { type: new GraphQLNonNull(GraphQLInt) } },
});

const ByLocation = new GraphQLObjectType({
  name: '__CostByLocation',
  fields: { path: { type: new GraphQLNonNull(GraphQLString) }, cost: { type: new GraphQLNonNull(GraphQLFloat) } },
});

const listOf = (type: GraphQLObjectType) => new GraphQLNonNull(new GraphQLList(new GraphQLNonNull(type)));

function countsField(kind: CountKind): GraphQLFieldConfig<CostMetrics, unknown, { regexName?: string | null }> {
  return {
    type: listOf(CountType),
    args: { regexName: { type: GraphQLString } },
    resolve: (metrics, { regexName }) => {
      const matches = matcher(regexName, 'regexName');
      return [...metrics.counts(kind)].filter(([name]) => matches(name)).map(([name, value]) => ({ name, value }));
    },
  };
}

function byLocationField(
  which: keyof LocationCost,
): GraphQLFieldConfig<CostMetrics, unknown, { regexPath?: string | null }> {
  return {
    type: listOf(ByLocation),
    args: { regexPath: { type: GraphQLString } },
    resolve: (metrics, { regexPath }) => {
      const matches = matcher(regexPath, 'regexPath');
      return [...metrics.locations()]
        .filter(([path]) => matches(path))
        .map(([path, cost]) => ({ path, cost: roundCost(cost[which]) }));
    },
  };
}

/**
 * Spec 6.1.3: the expression matches the whole name. RE2's engine runs in linear time, so a
 * client's expression cannot stall the process (a backtracking RegExp could, on `(a+)+b`).
 */
function matcher(pattern: string | null | undefined, argument: string): (name: string) => boolean {
  if (pattern === undefined || pattern === null) return () => true;
  let re: RE2JS;
  try {
    re = loadRe2().compile(pattern);
  } catch (e) {
    throw badUserInput(`${argument}: not a regular expression RE2 accepts: ${(e as Error).message}`);
  }
  return (name) => re.matches(name);
}

// Loaded by the first filter that needs it: RE2's 260 KB of code would otherwise stay resident
// in every gateway (and each MB resident at start lets V8 grow the heap under load by several).
const loadRe2 = (): typeof RE2JS => createRequire(import.meta.url)('re2js').RE2JS;

const Metrics = new GraphQLObjectType<CostMetrics>({
  name: '__CostMetrics',
  fields: {
    fieldCounts: countsField('field'),
    typeCounts: countsField('type'),
    inputTypeCounts: countsField('inputType'),
    inputFieldCounts: countsField('inputField'),
    argumentCounts: countsField('argument'),
    directiveCounts: countsField('directive'),
    fieldCost: { type: new GraphQLNonNull(GraphQLFloat) },
    typeCost: { type: new GraphQLNonNull(GraphQLFloat), resolve: (m) => roundCost(m.typeCost) },
    fieldCostByLocation: byLocationField('fieldCost'),
    typeCostByLocation: byLocationField('typeCost'),
  },
});

const Cost = new GraphQLObjectType({
  name: '__Cost',
  fields: { requestCosts: { type: Metrics }, responseCosts: { type: Metrics } },
});

const schemas = new Map<string, GraphQLSchema>();

/** The cost schema for a served schema whose query type is `rootName` (fragments name it). */
function costSchema(rootName: string): GraphQLSchema {
  let schema = schemas.get(rootName);
  if (!schema) {
    const root = new GraphQLObjectType({ name: rootName, fields: { __cost: { type: new GraphQLNonNull(Cost) } } });
    schema = new GraphQLSchema({ query: root, assumeValid: true });
    schemas.set(rootName, schema);
  }
  return schema;
}

/** The validation errors of a `__cost` part (an unknown field of __CostMetrics, a bad argument, ...). */
export function validateCostPart(served: GraphQLSchema, preview: DocumentNode): readonly GraphQLError[] {
  const root = served.getQueryType();
  const errors = root ? validate(costSchema(root.name), preview, specifiedRules) : [];
  // Answered like every validation error (yoga's useHTTPValidationError does the same to its own).
  for (const error of errors) {
    const extensions = error.extensions as Record<string, unknown>;
    extensions.code ??= 'GRAPHQL_VALIDATION_FAILED';
    extensions.http ??= { spec: true, status: 400 };
  }
  return errors;
}

/** Runs a `__cost` part; its answer is `{ <alias of __cost>: ... }`. */
export function runCostPart(
  served: GraphQLSchema,
  preview: DocumentNode,
  root: CostRoot,
  variableValues: Record<string, unknown> | null | undefined,
  contextValue: unknown,
): ExecutionResult {
  return execute({
    schema: costSchema(served.getQueryType()!.name),
    document: preview,
    rootValue: root,
    variableValues,
    contextValue,
  }) as ExecutionResult;
}
