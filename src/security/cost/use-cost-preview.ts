// The cost preview: IBM's optional `__cost` introspection field (spec section 6, README
// "Cost preview"). A query asks `__cost { requestCosts { fieldCost typeCost fieldCounts {
// name value } ... } }` beside its fields and gets the estimate of the operation it is part
// of; with the `introspectionOnly` header (spec 6.2) only the introspection parts run
// (`__cost`, `__schema`, `__type`, `__typename`): no upstream is called and no budget is
// touched, so GraphiQL can show what an operation would cost before it runs.
//
// - The numbers are the limiter's: `fieldCost` is estimate.ts's estimate of the same operation
//   (the document without `__cost`, the same variables, --cost-model and
//   --default-list-size), the counts come from the same walk (tally.ts).
// - Asking costs nothing: `__cost` weighs 0 like every introspection field, so an operation
//   that runs with it is priced and charged exactly as without it; an `introspectionOnly`
//   request runs nothing else and is neither charged nor refused by --max-cost (it says what
//   would be refused).
// - `responseCosts` is null: the spec lets an implementation answer either; the actual cost
//   of a run is extensions.cost.actualQueryCost when limits are on.
// - Installed only while introspection is on (security-layer.ts); --no-introspection refuses
//   `__cost` as it refuses `__schema` (hardening/use-no-introspection.ts). Per request it
//   costs a substring search of the query text; a document with `__cost` is split once and
//   kept with yoga's parse cache.
import {
  type DocumentNode,
  type ExecutionResult,
  execute,
  type GraphQLError,
  type GraphQLSchema,
  getOperationAST,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { QuiltContext } from '../../request-context/context.js';
import type { CostOptions } from '../options.js';
import { estimateCostDetails } from './estimate.js';
import { type PreparedOperation, prepareOperation } from './model.js';
import { type CostMetrics, type CostRoot, runCostPart, validateCostPart } from './preview/cost-schema.js';
import { COST_FIELD, type PreviewPart, type SplitDocument, splitCostPreview } from './preview/split-document.js';

/** Spec 6.2: when a request carries this header (any value), only introspection runs. */
export const INTROSPECTION_ONLY_HEADER = 'introspectiononly';

export function useCostPreview(options: Pick<CostOptions, 'model' | 'defaultListSize'>): Plugin {
  const model = options.model ?? 'ibm';
  /** Parsed document → its split (null: no `__cost` at a query's root). */
  const splits = new WeakMap<DocumentNode, SplitDocument | null>();
  /** Served document (what validation and execution see) → its split. */
  const served = new WeakMap<DocumentNode, SplitDocument>();
  /** The validation errors of each split's `__cost` parts, per served schema. */
  const validated = new WeakMap<GraphQLSchema, WeakMap<SplitDocument, readonly GraphQLError[]>>();

  const metricsOf = (op: PreparedOperation): CostMetrics => {
    const { fieldCost, tally } = estimateCostDetails(op, options.defaultListSize, model, { locations: false });
    let locations: ReturnType<CostMetrics['locations']> | undefined;
    return {
      fieldCost,
      typeCost: tally.typeCost,
      counts: (kind) => tally.counts[kind],
      locations: () =>
        (locations ??= estimateCostDetails(op, options.defaultListSize, model, { locations: true }).tally.locations!),
    };
  };

  return {
    onParse({ params }) {
      const source = typeof params.source === 'string' ? params.source : params.source.body;
      if (!source.includes(COST_FIELD)) return;
      return ({ result, replaceParseResult }) => {
        if (!result || result instanceof Error || !('kind' in result) || served.has(result)) return;
        let split = splits.get(result);
        if (split === undefined) {
          split = splitCostPreview(result) ?? null;
          splits.set(result, split);
          if (split) served.set(split.served, split);
        }
        if (split) replaceParseResult(split.served);
      };
    },
    onValidate({ params }) {
      const split = served.get(params.documentAST);
      if (!split) return;
      return ({ result, setResult }) => {
        let bySplit = validated.get(params.schema);
        if (!bySplit) validated.set(params.schema, (bySplit = new WeakMap()));
        let errors = bySplit.get(split);
        if (!errors) {
          errors = [...split.parts.values()].flatMap((p) => validateCostPart(params.schema, p.preview));
          bySplit.set(split, errors);
        }
        // yoga's validation cache may hand back a result that already holds them.
        const missing = errors.filter((e) => !result.includes(e));
        if (missing.length) setResult([...result, ...missing]);
      };
    },
    async onExecute({ args, setResultAndStopExecution }) {
      const split = served.get(args.document);
      const operation = split && getOperationAST(args.document, args.operationName);
      const part = operation && split.parts.get(operation);
      if (!part) return undefined;
      // Variables that do not coerce: execution refuses them before any resolver runs.
      const op = prepareOperation(args.schema, args.document, args.operationName, args.variableValues);
      if (!op) return undefined;
      const root: CostRoot = { __cost: { requestCosts: () => metricsOf(op), responseCosts: null } };
      const preview = () => runCostPart(args.schema, part.preview, root, args.variableValues, args.contextValue);
      const context = args.contextValue as unknown as QuiltContext;
      if (context.headers[INTROSPECTION_ONLY_HEADER] !== undefined) {
        const introspection: ExecutionResult = part.introspection
          ? await execute({ ...args, document: part.introspection })
          : { data: {} };
        setResultAndStopExecution(merge(introspection, preview, part));
        return undefined;
      }
      return {
        onExecuteDone({ result, setResult }) {
          if (!isAsyncIterable(result)) {
            setResult(merge(result, preview, part));
            return undefined;
          }
          // @defer / @stream: the preview joins the first payload.
          let first = true;
          return {
            onNext({ result: next, setResult: setNext }) {
              if (!first) return;
              first = false;
              setNext(merge(next as ExecutionResult, preview, part) as never);
            },
          };
        },
      };
    },
  };
}

/**
 * The operation's answer with the `__cost` answer in its place (root keys in document order).
 * An answer without data (refused, or a null that reached the root) is left as it is.
 */
function merge(result: ExecutionResult, run: () => ExecutionResult, part: PreviewPart): ExecutionResult {
  if (!result.data) return result;
  const preview = run();
  const errors = [...(result.errors ?? []), ...(preview.errors ?? [])];
  if (!preview.data) return { ...result, data: null, errors };
  const parts: Record<string, unknown> = { ...(part.standIn ? {} : result.data), ...preview.data };
  const data: Record<string, unknown> = {};
  for (const key of part.order) if (key in parts) data[key] = parts[key];
  for (const key of Object.keys(parts)) if (!(key in data)) data[key] = parts[key];
  return { ...result, data, ...(errors.length ? { errors } : {}) };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}
