// The HTTP/JSON connector: renders one @http call from its templates, sends it through the
// upstream's cluster and turns the answer into JSON or a coded error. It knows nothing of
// how a replica is picked. Identical reads within one request are sent once.
import { upstreamBadResponse, upstreamError, upstreamTimeout, upstreamUnavailable, QuiltError } from '../errors.js';
import { perRequest, type QuiltContext } from '../execution/context.js';
import { getPath, type TemplateScope } from '../templates/placeholders.js';
import type { HeaderTemplate, UpstreamConfig } from '../config/upstream.js';
import { TransportFailure } from '../upstream/types.js';
import { NOT_FOUND, type UpstreamCall } from './upstream-call.js';
import type { UpstreamRuntime } from '../upstream/registry.js';
import type { HttpResponse } from '../upstream/http-transport.js';
import { callRouting } from '../execution/routing.js';

export interface HttpCallSpec {
  upstream: UpstreamRuntime;
  method: string;
  url: (scope: TemplateScope) => string;
  body?: (scope: TemplateScope) => unknown;
  headers: HeaderTemplate[];
  /** `result:` path into the response JSON. */
  result?: string[];
  timeoutMs?: number;
}

const READ_METHODS = new Set(['GET', 'HEAD']);

export class HttpCall implements UpstreamCall {
  readonly #spec: HttpCallSpec;
  readonly #isRead: boolean;

  constructor(spec: HttpCallSpec) {
    this.#spec = spec;
    this.#isRead = READ_METHODS.has(spec.method);
  }

  /** The picked JSON, or NOT_FOUND for a 404 (the field decides whether that is null). */
  run(scope: TemplateScope, ctx: QuiltContext): Promise<unknown> {
    const spec = this.#spec;
    const path = spec.url(scope);
    const fieldHeaders = this.#fieldHeaders(scope);
    const body = spec.body ? JSON.stringify(spec.body(scope)) : undefined;
    if (!this.#isRead) return this.#send(path, fieldHeaders, body, scope, ctx);
    // The upstream's own headers are the same for every call of one request, so the
    // method, path and this field's headers identify a read.
    const dedupeKey = `${spec.upstream.config.name} ${spec.method} ${path}${fieldHeaders ? JSON.stringify(fieldHeaders) : ''}`;
    const calls = perRequest(ctx, 'http-dedupe', () => new Map<string, Promise<unknown>>());
    let pending = calls.get(dedupeKey);
    if (!pending) {
      pending = this.#send(path, fieldHeaders, body, scope, ctx);
      calls.set(dedupeKey, pending);
    }
    return pending;
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

  async #send(path: string, fieldHeaders: Record<string, string> | undefined, body: string | undefined, scope: TemplateScope, ctx: QuiltContext): Promise<unknown> {
    const { upstream, method, result } = this.#spec;
    const headers = upstreamHeaders(upstream.config, scope, ctx);
    if (fieldHeaders) Object.assign(headers, fieldHeaders);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const name = upstream.config.name;
    const timeoutMs = this.#spec.timeoutMs ?? upstream.config.timeoutMs;
    let replicaUrl = '';
    let response;
    try {
      response = await upstream.cluster.call(
        async (replica, tryTimeoutMs) => {
          replicaUrl = replica.url;
          const answer = await upstream.http.send(replica.url, { method, path, headers, body, timeoutMs: tryTimeoutMs });
          // A server error is the replica failing: the cluster counts it and may retry a read.
          if (answer.status >= 500) throw new TransportFailure('status', true, replica.url, `HTTP ${answer.status}`, { status: answer.status, answer });
          return answer;
        },
        { idempotent: this.#isRead, routing: callRouting(ctx, path), timeoutMs },
      );
    } catch (e) {
      throw logged(ctx, transportError(name, timeoutMs, e, { method, path }));
    }
    const detail = { method, path, replica: replicaUrl, status: response.status };
    if (response.status === 404) return NOT_FOUND;
    if (response.status >= 400) throw logged(ctx, upstreamError(name, response.status, { ...detail, body: response.text.slice(0, 500) }));
    if (response.text === '' || response.status === 204) return null;
    let json: unknown;
    try {
      json = JSON.parse(response.text);
    } catch {
      throw logged(ctx, upstreamBadResponse(name, { ...detail, contentType: response.contentType, body: response.text.slice(0, 200) }));
    }
    return result ? getPath(json, result) : json;
  }
}

/** Headers every call to an upstream carries: request id, forwarded and static headers. */
export function upstreamHeaders(config: UpstreamConfig, scope: TemplateScope, ctx: QuiltContext): Record<string, string> {
  const headers: Record<string, string> = { accept: 'application/json', 'x-request-id': ctx.requestId };
  for (const name of config.forwardHeaders) {
    const v = ctx.headers[name];
    if (v !== undefined) headers[name] = v;
  }
  for (const h of config.headers) {
    const v = h.render(scope);
    if (v !== undefined) headers[h.name] = v;
  }
  return headers;
}

export function transportError(upstream: string, timeoutMs: number, e: unknown, detail: Record<string, unknown>): QuiltError {
  if (e instanceof QuiltError) return e;
  if (e instanceof TransportFailure) {
    const d = { ...detail, replica: e.replica, failure: e.message };
    if (e.kind === 'status' && typeof e.status === 'number') {
      return upstreamError(upstream, e.status, { ...d, body: (e.answer as HttpResponse | undefined)?.text.slice(0, 500) });
    }
    return e.kind === 'timeout' ? upstreamTimeout(upstream, timeoutMs, d) : upstreamUnavailable(upstream, d);
  }
  return upstreamUnavailable(upstream, { ...detail, failure: String((e as Error)?.message ?? e) });
}

/** Upstream details go to the log with the request id; the client sees only code and message. */
export function logged(ctx: QuiltContext, error: QuiltError): QuiltError {
  ctx.log.warn({ requestId: ctx.requestId, code: error.code, ...error.extensions, ...error.detail }, error.message);
  return error;
}
