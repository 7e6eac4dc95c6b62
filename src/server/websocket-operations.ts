// One GraphQL operation over a WebSocket, run through yoga's getEnveloped (yoga's documented
// graphql-ws integration), so the envelop plugins of HTTP requests run unchanged: parse and
// validation with their limits and caches, introspection rules, cost, authorization,
// @rateLimit, the request timeout and masked errors. What HTTP gets
// from onRequest / onResponse hooks, which a socket's messages never pass through, is done
// here: the context (the connection's claims, address and headers; a signal of the
// operation's own), the request metrics, and a wire format without yoga's `extensions.http`.
import { randomUUID } from 'node:crypto';
import {
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  GraphQLError,
  getOperationAST,
  type OperationDefinitionNode,
} from 'graphql';
import type { SubscribePayload } from 'graphql-ws';
import { isAsyncIterable, mapAsyncIterator, type YogaServerInstance } from 'graphql-yoga';
import type { Logger } from 'pino';
import { internalError } from '../errors.js';
import type { GatewayMetrics, OperationTypeLabel } from '../observability/gateway-metrics.js';
import { outcomeOf } from '../observability/use-metrics.js';
import type { QuiltContext } from '../request-context/context.js';

/** What the connection knows of its client, shared by its operations. */
export interface ConnectionIdentity {
  id: string;
  clientIp?: string;
  /** The upgrade request's headers, with connection_init's Authorization when it had one. */
  headers: Record<string, string | undefined>;
  jwt?: Record<string, unknown>;
}

/** An operation running on a connection: its signal ends its upstream calls. */
export interface RunningOperation {
  controller: AbortController;
  type: OperationTypeLabel;
  name: string;
  requestId: string;
  started: number;
}

type Enveloped = ReturnType<YogaServerInstance<Record<string, unknown>, QuiltContext>['getEnveloped']>;
type Run = (args: ExecutionArgs) => unknown;

export interface OperationDeps {
  getEnveloped: (context: Record<string, unknown>) => Enveloped;
  /** yoga's error masker (mask-error.ts), for what a stream throws. */
  maskError: (error: unknown, message: string) => Error;
  log: Logger;
  metrics: GatewayMetrics;
}

/** The arguments graphql-ws executes with, or the errors it sends instead (parse, validation). */
export async function prepareOperation(
  deps: OperationDeps,
  identity: ConnectionIdentity,
  payload: SubscribePayload,
  register: (operation: RunningOperation) => void,
): Promise<ExecutionArgs | readonly GraphQLError[]> {
  const controller = new AbortController();
  const requestId = randomUUID();
  const initial: Partial<QuiltContext> & { connectionId: string } = {
    requestId,
    connectionId: identity.id,
    clientIp: identity.clientIp,
    headers: identity.headers,
    jwt: identity.jwt,
    log: deps.log,
    perRequest: new Map(),
    signal: controller.signal,
  };
  const started = performance.now();
  const { schema, parse, validate, contextFactory, execute, subscribe } = deps.getEnveloped(initial);
  let document: DocumentNode;
  try {
    document = parse(payload.query);
  } catch (e) {
    // A syntax error or a document over --max-tokens: said to the client like any GraphQL error.
    if (e instanceof GraphQLError) return refuse(deps, 'unknown', started, [e]);
    throw e;
  }
  const errors = validate(schema, document);
  if (errors.length) return refuse(deps, 'unknown', started, errors);
  const operation = getOperationAST(document, payload.operationName);
  if (!operation)
    return refuse(deps, 'unknown', started, [new GraphQLError('Unable to identify the operation to run')]);
  const running: RunningOperation = {
    controller,
    type: operation.operation,
    name: operationName(operation),
    requestId,
    started,
  };
  register(running);
  const guard =
    (run: Run): Run =>
    (args) =>
      guarded(deps, running, () => run(args));
  return {
    schema,
    document,
    operationName: payload.operationName,
    variableValues: payload.variables,
    contextValue: await contextFactory(),
    rootValue: { execute: guard(execute as Run), subscribe: guard(subscribe as Run) },
  };
}

type OperationResult = Promise<ExecutionResult | AsyncGenerator<ExecutionResult> | AsyncIterable<ExecutionResult>>;

/** graphql-ws's execute and subscribe: the enveloped functions prepareOperation put in rootValue. */
export const runEnveloped = {
  execute: (args: ExecutionArgs) => (args.rootValue as { execute: Run }).execute(args) as OperationResult,
  subscribe: (args: ExecutionArgs) => (args.rootValue as { subscribe: Run }).subscribe(args) as OperationResult,
};

/**
 * Runs the enveloped execute/subscribe: counts the operation when its result (or its stream)
 * is there, as HTTP counts at the response headers, and turns a throw into a masked error
 * (graphql-ws would otherwise close the whole connection with 4500).
 */
async function guarded(deps: OperationDeps, running: RunningOperation, run: () => unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = await run();
  } catch (err) {
    deps.log.error({ err, requestId: running.requestId }, 'websocket: operation failed unexpectedly');
    result = { errors: [internalError('Unexpected error.')] } satisfies ExecutionResult;
  }
  const outcome = running.controller.signal.aborted ? 'cancelled' : outcomeOf(result);
  deps.metrics.graphqlRequest(running.name, running.type, outcome, performance.now() - running.started);
  if (!isAsyncIterable(result)) return result;
  // A stream that fails ends with a `next` holding the masked, coded error, as yoga ends an SSE
  // stream; graphql-ws would send its bare message as an `error` instead.
  return mapAsyncIterator(
    result as AsyncIterable<ExecutionResult>,
    (value) => value,
    (error: unknown) => ({ errors: [asGraphQLError(deps.maskError(error, 'Unexpected error.'))] }),
  );
}

function asGraphQLError(error: Error): GraphQLError {
  return error instanceof GraphQLError ? error : new GraphQLError(error.message, { originalError: error });
}

function refuse(
  deps: OperationDeps,
  type: OperationTypeLabel,
  started: number,
  errors: readonly GraphQLError[],
): readonly GraphQLError[] {
  deps.metrics.graphqlRequest('unknown', type, 'failed', performance.now() - started);
  return errors;
}

function operationName(operation: OperationDefinitionNode): string {
  return operation.name?.value ?? 'anonymous';
}

type WireError = ReturnType<GraphQLError['toJSON']>;

/**
 * An error as the client sees it: yoga's `extensions.http` (a status and headers for an HTTP
 * response) means nothing on a socket and is left out, as yoga leaves it out of HTTP bodies.
 */
export function wireError(error: GraphQLError | WireError): WireError {
  const json = error instanceof GraphQLError ? error.toJSON() : error;
  if (!json.extensions || !('http' in json.extensions)) return json;
  const { http: _http, ...extensions } = json.extensions;
  return { ...json, extensions };
}

/** A result (a whole one, or a @defer/@stream payload) with its errors in wire form. */
export function wireResult(result: ExecutionResult & { incremental?: ExecutionResult[] }): Record<string, unknown> {
  const out: Record<string, unknown> = { ...result };
  if (result.errors) out.errors = result.errors.map(wireError);
  if (result.incremental)
    out.incremental = result.incremental.map((part) =>
      part.errors ? { ...part, errors: part.errors.map(wireError) } : part,
    );
  return out;
}
