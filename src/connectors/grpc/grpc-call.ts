// The gRPC connector: renders a request message from the field's JSON template, calls the
// method through the upstream's cluster (one channel per replica, in the upstream's
// GrpcTransport) and maps the reply and its status. Knows nothing of how a replica is picked.
import type { QuiltError } from '../../errors.js';
import { callRouting } from '../../request-context/call-routing.js';
import { perRequest, type QuiltContext } from '../../request-context/context.js';
import { getPath, type TemplateScope } from '../../templates/placeholders.js';
import type { GrpcTransport } from '../../upstream/transport/grpc.js';
import { type AttemptTrace, type CallTrace, cancelledCall } from '../../upstream/types.js';
import { failOnUnavailable, logged, upstreamHeaders } from '../call-rules.js';
import { NOT_FOUND, type UpstreamCall, type UpstreamRuntime } from '../upstream-call.js';
import type { GrpcMethodInfo } from './proto.js';
import { grpcCallError } from './status.js';

export interface GrpcCallSpec {
  upstream: UpstreamRuntime;
  transport: GrpcTransport;
  method: GrpcMethodInfo;
  request: (scope: TemplateScope) => unknown;
  encode: (json: unknown) => unknown;
  decode: (message: unknown) => unknown;
  /** `result:` path into the decoded reply. */
  result?: string[];
  timeoutMs?: number;
  /**
   * A Query field or a method with idempotency_level NO_SIDE_EFFECTS/IDEMPOTENT: deduplicated
   * within a request, and sent to another replica after UNAVAILABLE or a per-try timeout.
   */
  isRead: boolean;
}

export class GrpcCall implements UpstreamCall {
  readonly #spec: GrpcCallSpec;
  readonly #route: string;

  constructor(spec: GrpcCallSpec) {
    this.#spec = spec;
    this.#route = spec.method.path.replace(/^\//, '');
  }

  get streaming(): boolean {
    return this.#spec.method.serverStreaming;
  }

  run(scope: TemplateScope, ctx: QuiltContext): Promise<unknown> {
    const spec = this.#spec;
    // A server-streaming method on a Query field: the stream collected into a list.
    if (spec.method.serverStreaming) return this.#collect(scope, ctx);
    const request = spec.encode(spec.request(scope));
    if (!spec.isRead) return this.#unary(request, scope, ctx);
    const key = `${spec.upstream.config.name} ${spec.method.path} ${JSON.stringify(request)}`;
    const calls = perRequest(ctx, 'grpc-dedupe', () => new Map<string, Promise<unknown>>());
    let pending = calls.get(key);
    if (!pending) calls.set(key, (pending = this.#unary(request, scope, ctx)));
    return pending;
  }

  /** Each reply of a server-streaming method; closing the iterator cancels the call upstream. */
  async *stream(scope: TemplateScope, ctx: QuiltContext, timeoutMs?: number): AsyncGenerator<unknown> {
    const spec = this.#spec;
    const request = spec.encode(spec.request(scope));
    const abort = new AbortController();
    // The request's end (client gone, deadline) closes the stream too.
    const signal = ctx.signal ? AbortSignal.any([abort.signal, ctx.signal]) : abort.signal;
    const connectMs = spec.timeoutMs ?? spec.upstream.config.timeoutMs;
    try {
      // Connect inside the cluster's attempt, so a replica that cannot be reached is skipped.
      // Only connecting is an attempt: once messages flow, the stream is never sent again.
      const replies = await spec.upstream.cluster.call(
        async (replica, tryTimeoutMs, _signal, attempt) => {
          await spec.transport.ready(replica.url, Math.min(connectMs, tryTimeoutMs));
          return spec.transport.serverStream(
            replica.url,
            spec.method,
            request,
            this.#metadata(scope, ctx, attempt),
            signal,
            timeoutMs,
          );
        },
        { idempotent: false, routing: callRouting(ctx, spec.method.path), signal: ctx.signal, trace: this.#trace(ctx) },
      );
      for await (const message of replies) yield this.#pick(message);
      // Ended by the request's signal: a list cut short (a collected stream, which has a
      // deadline) is not the whole answer. A subscription ends quietly: its client is gone
      // or completed it, and nobody is there to read an error.
      if (timeoutMs !== undefined && ctx.signal?.aborted) throw cancelledCall('', ctx.signal);
    } catch (e) {
      const mapped = this.#error(e, ctx);
      // NOT_FOUND on a stream: nothing to stream.
      if (mapped !== NOT_FOUND) throw mapped;
    } finally {
      abort.abort();
    }
  }

  /** The replies of a stream behind a list field, with the unary deadline: a Query must not wait forever. */
  items(scope: TemplateScope, ctx: QuiltContext): AsyncGenerator<unknown> {
    return this.stream(scope, ctx, this.#spec.timeoutMs ?? this.#spec.upstream.config.timeoutMs);
  }

  async #collect(scope: TemplateScope, ctx: QuiltContext): Promise<unknown[]> {
    const items: unknown[] = [];
    for await (const item of this.items(scope, ctx)) items.push(item);
    return items;
  }

  async #unary(request: unknown, scope: TemplateScope, ctx: QuiltContext): Promise<unknown> {
    const spec = this.#spec;
    const timeoutMs = spec.timeoutMs ?? spec.upstream.config.timeoutMs;
    let reply: unknown;
    try {
      reply = await spec.upstream.cluster.call(
        (replica, tryTimeoutMs, signal, attempt) =>
          failOnUnavailable(
            spec.transport.unary(
              replica.url,
              spec.method,
              request,
              this.#metadata(scope, ctx, attempt),
              tryTimeoutMs,
              signal,
            ),
            attempt,
          ),
        {
          idempotent: spec.isRead,
          routing: callRouting(ctx, spec.method.path),
          timeoutMs,
          signal: ctx.signal,
          trace: this.#trace(ctx),
        },
      );
    } catch (e) {
      const mapped = this.#error(e, ctx);
      if (mapped === NOT_FOUND) return NOT_FOUND;
      throw mapped;
    }
    return this.#pick(reply);
  }

  #pick(message: unknown): unknown {
    const decoded = this.#spec.decode(message);
    return this.#spec.result ? getPath(decoded, this.#spec.result) : decoded;
  }

  /** Each attempt's metadata: the upstream's headers and, when traced, the attempt's trace context. */
  #metadata(scope: TemplateScope, ctx: QuiltContext, attempt: AttemptTrace | undefined): Record<string, string> {
    const headers = upstreamHeaders(this.#spec.upstream.config, scope, ctx);
    delete headers.accept;
    return attempt ? Object.assign(headers, attempt.propagation) : headers;
  }

  #trace(ctx: QuiltContext): CallTrace | undefined {
    // "/pkg.Service/Method" -> "pkg.Service/Method", the RPC conventions' method name.
    return ctx.tracer?.call({ upstream: this.#spec.upstream.config.name, protocol: 'GRPC', route: this.#route });
  }

  #error(e: unknown, ctx: QuiltContext): QuiltError | typeof NOT_FOUND {
    const { config } = this.#spec.upstream;
    const mapped = grpcCallError(config.name, this.#spec.timeoutMs ?? config.timeoutMs, e, {
      method: this.#spec.method.path,
    });
    return mapped === NOT_FOUND ? mapped : logged(ctx, mapped);
  }
}
