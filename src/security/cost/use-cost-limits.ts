// Cost limits: every operation's cost is estimated after validation and
// before execution (estimate.ts), so an operation that is too expensive, or a client whose
// budget is spent, is refused before any upstream is called. With a budget, each client
// (JWT subject, else IP: clientIdOf) has a token bucket in the LimitStore: the estimate is
// taken before execution and estimate − actual (actual.ts, counted from the lists really
// returned) is given back after it, so clients pay for what they got, not what they asked.
//
// What a client sees:
// - over --max-cost, or over the whole budget (it could never run): COST_LIMIT_EXCEEDED,
//   HTTP 400 under application/graphql-response+json and 200 under application/json (the
//   GraphQL-over-HTTP rule yoga applies to validation errors: `http.spec`);
// - budget spent: RATE_LIMITED, HTTP 429 with `Retry-After: <seconds>` (yoga copies an
//   error's extensions.http status and headers onto the response);
// - Redis unreachable: the store's failure policy decides (limits/failure-policy.ts): open,
//   the take succeeds; closed, it is refused and the client gets the 429 with Retry-After: 1;
// - `extensions.cost { requestedQueryCost, actualQueryCost, throttleStatus { maximumAvailable,
//   currentlyAvailable, restoreRate } }` on every executed or cost-refused operation. The
//   plugin is installed only with --max-cost or --cost-budget (security-layer.ts); without a
//   budget there is no bucket and the three throttleStatus values are null. A refused
//   operation's actualQueryCost is 0. Operations that fail parsing or validation never reach
//   this plugin and carry no cost. Subscriptions are estimated and charged when they start,
//   with no refund; @defer/@stream results are charged the estimate.
import {
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from 'pino';
import { costBudgetSpent, costLimitExceeded } from '../../errors.js';
import type { QuiltContext } from '../../request-context/context.js';
import { clientIdOf } from '../identity.js';
import type { BucketSpec, BucketState, LimitStore } from '../limits/types.js';
import type { CostOptions } from '../options.js';
import type { SecurityMetrics } from '../security-metrics.js';
import { actualCost } from './actual.js';
import { estimateCost } from './estimate.js';
import { type PreparedOperation, prepareOperation, roundCost } from './model.js';

export interface CostDeps {
  log: Logger;
  metrics: SecurityMetrics;
}

export interface CostExtension {
  requestedQueryCost: number;
  actualQueryCost: number;
  throttleStatus: { maximumAvailable: number | null; currentlyAvailable: number | null; restoreRate: number | null };
}

/** An operation let through: what onExecuteDone needs to settle its bill. */
interface Admitted {
  op: PreparedOperation;
  requested: number;
  key: string;
  /** Points left in the bucket after the take; null without a budget. */
  available: number | null;
}

export function useCostLimits(options: CostOptions, store: LimitStore, deps: CostDeps): Plugin {
  const bucket: BucketSpec | undefined =
    options.budget === undefined ? undefined : { capacity: options.budget, refillPerSec: options.restoreRate };
  const extension = (requested: number, actual: number, available: number | null): CostExtension => ({
    requestedQueryCost: requested,
    actualQueryCost: actual,
    throttleStatus: bucket
      ? {
          maximumAvailable: bucket.capacity,
          currentlyAvailable: available === null ? null : roundCost(available),
          restoreRate: bucket.refillPerSec,
        }
      : { maximumAvailable: null, currentlyAvailable: null, restoreRate: null },
  });
  const refused = (error: GraphQLError, requested: number, available: number | null): ExecutionResult => ({
    errors: [error],
    extensions: { cost: extension(requested, 0, available) },
  });

  // An operation without variables always costs the same, and yoga's parse cache hands the
  // same document object for the same text: keep its estimate (per schema: a reload re-costs).
  const estimates = new WeakMap<GraphQLSchema, WeakMap<OperationDefinitionNode, number | GraphQLError>>();
  function estimateOf(op: PreparedOperation): number | GraphQLError {
    const cacheable = !op.operation.variableDefinitions?.length;
    let bySchema = estimates.get(op.schema);
    const cached = cacheable ? bySchema?.get(op.operation) : undefined;
    if (cached !== undefined) return cached;
    let result: number | GraphQLError;
    try {
      result = estimateCost(op, options.defaultListSize, options.model ?? 'ibm');
    } catch (e) {
      if (!(e instanceof GraphQLError)) throw e;
      result = e;
    }
    if (cacheable) {
      if (!bySchema) estimates.set(op.schema, (bySchema = new WeakMap()));
      bySchema.set(op.operation, result);
    }
    return result;
  }

  /** The current level of the bucket, for a refusal that took nothing. */
  async function peek(key: string): Promise<number | null> {
    if (!bucket) return null;
    try {
      return (await store.take(key, 0, bucket)).remaining;
    } catch {
      return null;
    }
  }

  /** Admitted, or the result that replaces execution; undefined: nothing to analyse. */
  async function admit(args: ExecutionArgs): Promise<Admitted | ExecutionResult | undefined> {
    // Variables that do not coerce (or no such operation): execution fails before any resolver runs.
    const op = prepareOperation(args.schema, args.document, args.operationName, args.variableValues);
    if (!op) return undefined;
    const requested = estimateOf(op);
    if (requested instanceof GraphQLError) return { errors: [requested] };
    const key = `cost:${clientIdOf(args.contextValue as QuiltContext)}`;
    const limit = Math.min(options.maxCost ?? Infinity, bucket?.capacity ?? Infinity);
    if (requested > limit) {
      const error = costLimitExceeded(requested, limit, limit === options.maxCost ? 'maximum cost' : 'cost budget');
      deps.metrics.limitRejection('cost_limit', error);
      return refused(error, requested, await peek(key));
    }
    if (!bucket) return { op, requested, key, available: null };
    let state: BucketState;
    try {
      state = await store.take(key, requested, bucket);
    } catch (err) {
      // The store applies the fail-open/closed policy itself (limits/failure-policy.ts) and
      // does not throw; should it, refuse as a closed policy would.
      deps.log.error({ err, key }, 'cost budget: the limit store failed; refusing the operation');
      state = { ok: false, remaining: 0, retryAfterSec: 1 };
    }
    if (!state.ok) {
      const error = costBudgetSpent(requested, roundCost(state.remaining), state.retryAfterSec);
      deps.metrics.limitRejection('cost_budget', error);
      return refused(error, requested, state.remaining);
    }
    return { op, requested, key, available: state.remaining };
  }

  /** Gives back what the estimate over-charged; returns the bucket's level afterwards. */
  async function settle(admitted: Admitted, actual: number): Promise<number | null> {
    const unused = admitted.requested - actual;
    if (!bucket || unused <= 0) return admitted.available;
    try {
      return (await store.refund(admitted.key, unused, bucket)).remaining;
    } catch (err) {
      deps.log.warn({ err, key: admitted.key }, 'cost budget: refund failed');
      return admitted.available;
    }
  }

  return {
    async onExecute({ args, setResultAndStopExecution }) {
      const admitted = await admit(args);
      if (!admitted) return undefined;
      if (!('op' in admitted)) {
        setResultAndStopExecution(admitted);
        return undefined;
      }
      return {
        async onExecuteDone({ result, setResult }) {
          if (isAsyncIterable(result)) return;
          const actual = actualCost(admitted.op, result.data, options.model ?? 'ibm');
          const available = await settle(admitted, actual);
          setResult({
            ...result,
            extensions: { ...result.extensions, cost: extension(admitted.requested, actual, available) },
          });
        },
      };
    },
    async onSubscribe({ args, setResultAndStopExecution }) {
      const admitted = await admit(args);
      if (admitted && !('op' in admitted)) setResultAndStopExecution(admitted);
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as { [Symbol.asyncIterator]?: unknown } | null)?.[Symbol.asyncIterator] === 'function';
}
