// GET /metrics (Prometheus text) and the GraphQL request metrics: one count and one duration
// per GraphQL request, labelled with its operation, type and outcome (see RequestOutcome).
// Recorded in onResponse rather than around execution so that every GraphQL request
// counts: those that fail to parse or validate, bad HTTP requests (operation "unknown") and
// operations refused before execution. onResultProcess marks a request as GraphQL; nothing
// else (GraphiQL, /healthz, 404s) is counted. Known limits: a streamed response
// (subscription, @defer) is timed to its headers and counted as a success unless its status
// says otherwise; a batched request (off in Quilt) counts once, under its last operation.
import { type DocumentNode, type ExecutionResult, getOperationAST } from 'graphql';
import type { Plugin, YogaInitialContext } from 'graphql-yoga';
import type { GatewayMetrics, OperationTypeLabel, RequestOutcome } from './gateway-metrics.js';

interface RequestState {
  started: number;
  operation: string;
  type: OperationTypeLabel;
  /** Set once yoga produced a GraphQL result for the request. */
  outcome?: RequestOutcome;
}

export function useMetrics(metrics: GatewayMetrics): Plugin<YogaInitialContext> {
  const states = new WeakMap<Request, RequestState>();
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname === '/metrics' && request.method === 'GET') {
        return metrics
          .scrape()
          .then((text) =>
            endResponse(new fetchAPI.Response(text, { headers: { 'content-type': metrics.contentType } })),
          );
      }
      states.set(request, { started: performance.now(), operation: 'unknown', type: 'unknown' });
    },
    onParse() {
      // After parsing (or a parse cache hit): the operation that will run names the labels.
      return function recordOperation({ result, context }) {
        const state = states.get(context.request);
        if (!state || !result || result instanceof Error) return;
        const operation = getOperationAST(result as DocumentNode, context.params?.operationName ?? undefined);
        if (!operation) return; // several operations and none chosen: yoga rejects it; stays "unknown"
        state.operation = operation.name?.value ?? 'anonymous';
        state.type = operation.operation;
      };
    },
    onResultProcess({ request, result }) {
      const state = states.get(request);
      if (state) state.outcome = outcomeOf(result);
    },
    onResponse({ request, response }) {
      const state = states.get(request);
      if (!state?.outcome) return;
      states.delete(request);
      metrics.graphqlRequest(
        state.operation,
        state.type,
        request.signal.aborted ? 'cancelled' : response.status >= 400 ? 'failed' : state.outcome,
        performance.now() - state.started,
      );
    },
  };
}

/** A result's outcome; a stream (subscription, @defer) is a success when it starts. */
export function outcomeOf(result: unknown): RequestOutcome {
  if (Array.isArray(result)) {
    const outcomes = result.map(outcomeOf);
    return outcomes.includes('failed') ? 'failed' : outcomes.includes('error') ? 'error' : 'success';
  }
  if (result === null || typeof result !== 'object' || Symbol.asyncIterator in result) return 'success';
  const { data, errors } = result as ExecutionResult;
  if (data === null || data === undefined) return 'failed';
  return errors?.length ? 'error' : 'success';
}
