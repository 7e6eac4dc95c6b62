// The HTTP/JSON connector: renders one @http call from its templates, sends it through the
// upstream's cluster and turns the answer into the field's value or a coded error. It knows
// nothing of how a replica is picked. Identical reads within one request are sent once.
//
// Answers: 404 is NOT_FOUND (the field decides whether that is null); another error status
// maps as gRPC statuses do (httpStatusError in src/errors.ts), with the upstream's own
// message only where errorMessage: asks for it; a 204 or an empty body is true for a
// Boolean field and null for any other; a text/* body (plain, HTML, CSV) is the value of a String field;
// anything else must be JSON.
import type { HeaderTemplate } from '../../config/upstream.js';
import { httpStatusError, upstreamBadResponse } from '../../errors.js';
import { callRouting } from '../../request-context/call-routing.js';
import { perRequest, type QuiltContext } from '../../request-context/context.js';
import { getPath, type TemplateScope } from '../../templates/placeholders.js';
import type { HttpResponse } from '../../upstream/transport/http.js';
import { failOnServerError, logged, transportError, upstreamHeaders, upstreamMessage } from '../call-rules.js';
import { passResponseHeaders } from '../response-headers.js';
import { NOT_FOUND, type UpstreamCall, type UpstreamRuntime } from '../upstream-call.js';
import { formEncode } from './form-body.js';

export interface HttpCallSpec {
  upstream: UpstreamRuntime;
  method: string;
  url: (scope: TemplateScope) => string;
  body?: (scope: TemplateScope) => unknown;
  bodyFormat: 'JSON' | 'FORM';
  headers: HeaderTemplate[];
  /** `result:` path into the response JSON. */
  result?: string[];
  timeoutMs?: number;
  /** What the field returns, for answers that are not JSON: 204 gives Boolean true, text/plain a String. */
  returns: 'Boolean' | 'String' | 'other';
  /** The field's own errorMessage: path (else the upstream's). */
  errorMessage?: string[];
  /** The url as the schema file writes it ("/users/{args.id}"): names the call in traces. */
  urlTemplate?: string;
}

const READ_METHODS = new Set(['GET', 'HEAD']);
const CONTENT_TYPES = { JSON: 'application/json', FORM: 'application/x-www-form-urlencoded' } as const;

function encodeBody(value: unknown, format: HttpCallSpec['bodyFormat']): string {
  return format === 'FORM' ? formEncode(value) : JSON.stringify(value);
}

export class HttpCall implements UpstreamCall {
  readonly #spec: HttpCallSpec;
  readonly #isRead: boolean;
  /** "GET /users/{args.id}": what a trace calls this call. */
  readonly #route: string;

  constructor(spec: HttpCallSpec) {
    this.#spec = spec;
    this.#isRead = READ_METHODS.has(spec.method);
    this.#route = spec.urlTemplate ? `${spec.method} ${spec.urlTemplate}` : spec.method;
  }

  /** The field's value, or NOT_FOUND for a 404 (the field decides whether that is null). */
  run(scope: TemplateScope, ctx: QuiltContext): Promise<unknown> {
    const spec = this.#spec;
    const path = spec.url(scope);
    const fieldHeaders = this.#fieldHeaders(scope);
    const body = spec.body ? encodeBody(spec.body(scope), spec.bodyFormat) : undefined;
    let answer: Promise<Answer>;
    if (!this.#isRead) answer = this.#exchange(path, fieldHeaders, body, scope, ctx);
    else {
      // The upstream's own headers are the same for every call of one request, so the method,
      // path and this field's headers identify a read. The answer is shared, not its reading:
      // two fields may pick different parts of it or map its errors differently.
      const dedupeKey = `${spec.upstream.config.name} ${spec.method} ${path}${fieldHeaders ? JSON.stringify(fieldHeaders) : ''}`;
      const calls = perRequest(ctx, 'http-dedupe', () => new Map<string, Promise<Answer>>());
      let pending = calls.get(dedupeKey);
      if (!pending) calls.set(dedupeKey, (pending = this.#exchange(path, fieldHeaders, body, scope, ctx)));
      answer = pending;
    }
    return answer.then(
      (a) => this.#read(a, path, ctx),
      (e: unknown) => {
        const timeoutMs = spec.timeoutMs ?? spec.upstream.config.timeoutMs;
        throw logged(
          ctx,
          transportError(spec.upstream.config.name, timeoutMs, e, { method: spec.method, path }, this.#errorMessage),
        );
      },
    );
  }

  get #errorMessage(): string[] | undefined {
    return this.#spec.errorMessage ?? this.#spec.upstream.config.errorMessage;
  }

  #fieldHeaders(scope: TemplateScope): Record<string, string> | undefined {
    if (this.#spec.headers.length === 0) return undefined;
    const headers: Record<string, string> = {};
    for (const h of this.#spec.headers) {
      const v = h.render(scope);
      if (v !== undefined) headers[h.name] = v;
    }
    return headers;
  }

  /** One call through the cluster; rejects with what the cluster threw. */
  async #exchange(
    path: string,
    fieldHeaders: Record<string, string> | undefined,
    body: string | undefined,
    scope: TemplateScope,
    ctx: QuiltContext,
  ): Promise<Answer> {
    const { upstream, method } = this.#spec;
    const headers = upstreamHeaders(upstream.config, scope, ctx);
    if (fieldHeaders) Object.assign(headers, fieldHeaders);
    if (body !== undefined) headers['content-type'] = CONTENT_TYPES[this.#spec.bodyFormat];
    const timeoutMs = this.#spec.timeoutMs ?? upstream.config.timeoutMs;
    let replica = '';
    // A call the cache answers makes no span: the trace starts with the exchange.
    const exchange = (sent: Record<string, string>) => {
      const trace = ctx.tracer?.call({
        upstream: upstream.config.name,
        protocol: 'HTTP',
        route: this.#route,
        method,
        path,
      });
      return upstream.cluster.call(
        async (r, tryTimeoutMs, signal, attempt) => {
          replica = r.url;
          return failOnServerError(
            await upstream.http.send(r.url, {
              method,
              path,
              // Each attempt carries its own span's trace context.
              headers: attempt ? { ...sent, ...attempt.propagation } : sent,
              body,
              timeoutMs: tryTimeoutMs,
              signal,
              tls: upstream.config.cluster.tls,
            }),
            r.url,
            attempt,
          );
        },
        { idempotent: this.#isRead, routing: callRouting(ctx, path), timeoutMs, signal: ctx.signal, trace },
      );
    };
    // With httpCache the cache answers, or makes this same call (with revalidation headers).
    const response = upstream.httpCache
      ? await upstream.httpCache.send({ method, path, headers, body }, exchange)
      : await exchange(headers);
    passResponseHeaders(ctx, upstream.config.responseHeaders, response.headers);
    return { response, replica };
  }

  /** The answer as this field reads it. */
  #read({ response, replica }: Answer, path: string, ctx: QuiltContext): unknown {
    const { upstream, method, result, returns } = this.#spec;
    const name = upstream.config.name;
    const detail = { method, path, replica, status: response.status };
    if (response.status === 404) return NOT_FOUND;
    if (response.status >= 400) {
      const message = upstreamMessage(response.text, this.#errorMessage);
      throw logged(
        ctx,
        httpStatusError(name, response.status, { ...detail, body: response.text.slice(0, 500) }, message),
      );
    }
    if (response.text === '' || response.status === 204) return returns === 'Boolean' ? true : null;
    if (returns === 'String' && response.contentType?.startsWith('text/')) return response.text;
    let json: unknown;
    try {
      json = JSON.parse(response.text);
    } catch {
      throw logged(
        ctx,
        upstreamBadResponse(name, { ...detail, contentType: response.contentType, body: response.text.slice(0, 200) }),
      );
    }
    return result ? getPath(json, result) : json;
  }
}

interface Answer {
  response: HttpResponse;
  replica: string;
}
