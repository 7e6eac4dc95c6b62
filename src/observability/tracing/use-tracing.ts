// A span per GraphQL operation, and the tracer of its upstream calls on the request's context.
// yoga's `operation` instrumentation wraps each operation from its parameters to its result
// (every operation of a batched request has its own), whatever ends it: a parse or
// validation error, a refusal by a limit, an exception. Requests answered before that (the
// operational endpoints, 401 from JWT, 413, 503 from --max-in-flight) make no span: they are
// not operations, and /metrics counts them.
//
// The span continues the client's trace when the request carries a W3C `traceparent` (and
// `tracestate`): it is the child of the client's span, in the client's trace, and follows its
// sampled flag. It is named as the GraphQL conventions say ("query Dashboard", "mutation",
// "GraphQL Operation" before the document is parsed) and carries graphql.operation.type and
// .name, quilt.request_id (the x-request-id of the log lines) and the document's SHA-256
// (quilt.graphql.document_hash, "sha256:<hex>", the id trusted documents use) rather than its
// text, which may hold personal data in literals and is large. A result with errors sets the
// span's status to ERROR, with error.type the first error's code and an event per error.
// A streamed result (subscription, @defer) ends its span when the stream ends.
import { createHash } from 'node:crypto';
import {
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { type DocumentNode, type ExecutionResult, getOperationAST } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { CallTracer } from '../../upstream/types.js';
import { requestIdOf } from '../use-request-id.js';
import type { UpstreamSpans } from './upstream-spans.js';

const propagator = new W3CTraceContextPropagator();
const headerGetter: TextMapGetter<Headers> = {
  keys: (headers) => [...headers.keys()],
  get: (headers, key) => headers.get(key) ?? undefined,
};
/** Errors recorded as events on one span; the rest are only counted. */
const MAX_ERROR_EVENTS = 10;

class OperationSpan {
  readonly span: Span;
  readonly calls: CallTracer;
  /** The result is a stream: the span ends with it, not when the operation returns. */
  streaming = false;
  #ended = false;

  constructor(spans: UpstreamSpans, request: Request) {
    const parent = propagator.extract(ROOT_CONTEXT, request.headers, headerGetter);
    this.span = spans.tracer.startSpan(
      'GraphQL Operation',
      { kind: SpanKind.SERVER, attributes: { 'quilt.request_id': requestIdOf(request) } },
      parent,
    );
    const here: Context = trace.setSpan(parent, this.span);
    this.calls = spans.forOperation(here);
  }

  parsed(document: DocumentNode, operationName: string | undefined, query: string | undefined): void {
    const operation = getOperationAST(document, operationName);
    if (!operation) return; // several operations and none chosen: yoga refuses it
    const type = operation.operation;
    const name = operation.name?.value;
    this.span.updateName(name ? `${type} ${name}` : type);
    this.span.setAttribute('graphql.operation.type', type);
    if (name) this.span.setAttribute('graphql.operation.name', name);
    if (query && this.span.isRecording())
      this.span.setAttribute(
        'quilt.graphql.document_hash',
        `sha256:${createHash('sha256').update(query).digest('hex')}`,
      );
  }

  result(result: ExecutionResult): void {
    const errors = result.errors;
    if (!errors?.length) return;
    const first = errors[0]!;
    const code = (error: (typeof errors)[number]) => String(error.extensions?.code ?? 'GraphQLError');
    this.span.setAttribute('error.type', code(first));
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: first.message });
    for (const error of errors.slice(0, MAX_ERROR_EVENTS))
      this.span.addEvent('exception', {
        'exception.type': code(error),
        'exception.message': error.message,
        'graphql.error.path': error.path?.join('.') ?? '',
      });
  }

  failed(error: unknown): void {
    this.span.setAttribute('error.type', (error as Error)?.name ?? 'Error');
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: String((error as Error)?.message ?? error) });
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.span.end();
  }
}

export function useTracing(spans: UpstreamSpans): Plugin<{ tracer?: CallTracer }> {
  const operations = new WeakMap<object, OperationSpan>();
  const settle = (op: OperationSpan) => {
    if (!op.streaming) op.end();
  };
  return {
    instrumentation: {
      operation({ context, request }, wrapped) {
        const op = new OperationSpan(spans, request);
        operations.set(context, op);
        let running: ReturnType<typeof wrapped>;
        try {
          running = wrapped();
        } catch (e) {
          op.failed(e);
          op.end();
          throw e;
        }
        // yoga's own "fake" promises are thenables, not instances of Promise.
        if (typeof (running as PromiseLike<void> | undefined)?.then !== 'function') return settle(op);
        return Promise.resolve(running).then(
          () => settle(op),
          (e: unknown) => {
            op.failed(e);
            op.end();
            throw e;
          },
        );
      },
    },
    onContextBuilding({ context, extendContext }) {
      const op = operations.get(context);
      if (op) extendContext({ tracer: op.calls });
    },
    onParse() {
      return ({ result, context }) => {
        const op = operations.get(context);
        if (!op || !result || result instanceof Error) return;
        const params = (context as { params?: { operationName?: string | null; query?: string } }).params;
        op.parsed(result as DocumentNode, params?.operationName ?? undefined, params?.query);
      };
    },
    onExecutionResult({ result, setResult, context }) {
      const op = operations.get(context);
      if (!op) return;
      if (isAsyncIterable(result)) {
        op.streaming = true;
        setResult(endWhenDone(result, op));
      } else if (result) op.result(result as ExecutionResult);
    },
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

/**
 * The stream, ending the operation's span when it ends: finished, failed, or closed by the
 * client (return() ends it even when no item was ever asked for, which a generator would not).
 */
function endWhenDone(
  source: AsyncIterable<ExecutionResult>,
  op: OperationSpan,
): AsyncIterableIterator<ExecutionResult> {
  const items = source[Symbol.asyncIterator]();
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      try {
        const item = await items.next();
        if (item.done) op.end();
        else op.result(item.value);
        return item;
      } catch (e) {
        op.failed(e);
        op.end();
        throw e;
      }
    },
    async return(value?: unknown) {
      op.end();
      return items.return ? items.return(value) : { done: true, value };
    },
    async throw(error?: unknown) {
      op.end();
      if (items.throw) return items.throw(error);
      throw error;
    },
  };
}
