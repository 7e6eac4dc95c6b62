// The spans of upstream calls, implementing the pools' tracing hooks (CallTracer, CallTrace,
// AttemptTrace in src/upstream/types.ts). One request's calls hang under its operation span:
//
//   query Dashboard                              (SERVER, use-tracing.ts)
//   └─ users GET /users/{args.id}                (INTERNAL: the call, retries included)
//      ├─ GET /users/{args.id}  attempt 1  503   (CLIENT: one per attempt, on one replica)
//      └─ GET /users/{args.id}  attempt 2  200   (quilt.retry = true)
//
// Each attempt's own span context is what its replica receives as `traceparent` (HTTP header
// or gRPC metadata), so the replica's spans are children of the attempt that reached it.
// Attributes follow OpenTelemetry's HTTP and RPC client conventions, plus quilt.* for what
// the pools know: upstream, replica (the url as declared), attempt, retry and outcome (the
// outcome label of quilt_upstream_calls_total).
import {
  type Attributes,
  type Context,
  defaultTextMapSetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  type AttemptTrace,
  type CallDescription,
  type CallTrace,
  type CallTracer,
  TransportFailure,
} from '../../upstream/types.js';

const propagator = new W3CTraceContextPropagator();

/** Where a replica is, parsed once per replica url. */
interface ReplicaPlace {
  /** HTTP: origin and base path, the start of url.full. */
  base?: string;
  address: string;
  port?: number;
}

/** What every request's spans share: the tracer and the replicas' parsed urls. */
export class UpstreamSpans {
  readonly #places = new Map<string, ReplicaPlace>();

  constructor(readonly tracer: Tracer) {}

  /** The tracer of one request's calls, whose spans are children of `parent` (the operation span's context). */
  forOperation(parent: Context): CallTracer {
    return { call: (description) => new CallSpan(this, parent, description) };
  }

  place(replica: string, protocol: CallDescription['protocol']): ReplicaPlace {
    let place = this.#places.get(replica);
    if (!place) {
      place = protocol === 'GRPC' ? grpcPlace(replica) : httpPlace(replica);
      this.#places.set(replica, place);
    }
    return place;
  }
}

class CallSpan implements CallTrace {
  readonly #spans: UpstreamSpans;
  readonly #description: CallDescription;
  readonly #span: Span;
  readonly #context: Context;
  #attempts = 0;

  constructor(spans: UpstreamSpans, parent: Context, description: CallDescription) {
    this.#spans = spans;
    this.#description = description;
    this.#span = spans.tracer.startSpan(
      `${description.upstream} ${description.route}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: { 'quilt.upstream': description.upstream, 'quilt.protocol': description.protocol },
      },
      parent,
    );
    this.#context = trace.setSpan(parent, this.#span);
  }

  attempt(replica: string, attempt: number): AttemptTrace {
    this.#attempts = attempt;
    return new AttemptSpan(this.#spans, this.#context, this.#description, replica, attempt);
  }

  /**
   * An error only when the pool gave up (no replica answered: a TransportFailure); an answer
   * the connector turns into a field error (HTTP 404, gRPC NOT_FOUND) is the attempt's status.
   */
  end(error?: unknown): void {
    this.#span.setAttribute('quilt.attempts', this.#attempts);
    if (error instanceof TransportFailure) {
      this.#span.setAttribute('error.type', error.kind);
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message: error.message });
    }
    this.#span.end();
  }
}

class AttemptSpan implements AttemptTrace {
  readonly propagation: Record<string, string> = {};
  readonly #span: Span;
  readonly #protocol: CallDescription['protocol'];
  #status: number | string | undefined;

  constructor(spans: UpstreamSpans, parent: Context, d: CallDescription, replica: string, attempt: number) {
    this.#protocol = d.protocol;
    this.#span = spans.tracer.startSpan(d.route, { kind: SpanKind.CLIENT }, parent);
    // The sampler (parent-based, by trace id) reads no attributes: an attempt of a trace that
    // is not recorded (--otel-sample-ratio, a client's unsampled traceparent) builds none.
    if (this.#span.isRecording()) this.#span.setAttributes(attemptAttributes(spans, d, replica, attempt));
    // Sent either way: the replica continues the client's trace, recorded or not.
    propagator.inject(trace.setSpan(ROOT_CONTEXT, this.#span), this.propagation, defaultTextMapSetter);
  }

  status(status: number | string): void {
    this.#status = status;
    this.#span.setAttribute(this.#protocol === 'GRPC' ? 'rpc.status_code' : 'http.response.status_code', status);
  }

  end(failure?: TransportFailure): void {
    this.#span.setAttribute('quilt.outcome', failure?.kind ?? 'success');
    // The conventions' error rule for clients: a failed attempt, an HTTP status of 400 or
    // more, a gRPC status other than OK.
    const status = this.#status;
    const type = failure
      ? failure.kind
      : typeof status === 'number'
        ? status >= 400
          ? String(status)
          : undefined
        : status !== undefined && status !== 'OK'
          ? status
          : undefined;
    if (type !== undefined) {
      this.#span.setAttribute('error.type', type);
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message: failure?.message ?? type });
    }
    this.#span.end();
  }
}

function attemptAttributes(spans: UpstreamSpans, d: CallDescription, replica: string, attempt: number): Attributes {
  const place = spans.place(replica, d.protocol);
  const attributes: Attributes = {
    'quilt.upstream': d.upstream,
    'quilt.replica': replica,
    'quilt.attempt': attempt,
    'quilt.retry': attempt > 1,
    'server.address': place.address,
    'server.port': place.port,
  };
  if (d.protocol === 'GRPC') {
    attributes['rpc.system.name'] = 'grpc';
    attributes['rpc.method'] = d.route;
  } else {
    attributes['http.request.method'] = d.method;
    const path = typeof d.path === 'function' ? d.path(replica) : d.path;
    // The query string is left out: templates may put keys or tokens there.
    if (place.base !== undefined) attributes['url.full'] = place.base + (path ?? '').split('?')[0];
    if (d.protocol === 'HTTP') attributes['url.template'] = d.route.slice(d.route.indexOf(' ') + 1);
    if (attempt > 1) attributes['http.request.resend_count'] = attempt - 1;
  }
  return attributes;
}

function httpPlace(replica: string): ReplicaPlace {
  try {
    const url = new URL(replica);
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    return { base: url.origin + url.pathname.replace(/\/+$/, ''), address: url.hostname.replace(/^\[|\]$/g, ''), port };
  } catch {
    return { address: replica };
  }
}

/** "host:port", "grpc://host:port", "grpcs://[::1]:port". */
function grpcPlace(replica: string): ReplicaPlace {
  const m = /^(?:grpcs?:\/\/)?(\[[^\]]+\]|[^:/]+):(\d+)/i.exec(replica.trim());
  return m ? { address: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) } : { address: replica };
}
