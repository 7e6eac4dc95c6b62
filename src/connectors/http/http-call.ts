// The HTTP/JSON connector: renders one @http call from its templates, sends it through the
// upstream's cluster and turns the answer into the field's value or a coded error. It knows
// nothing of how a replica is picked. Identical reads within one request are sent once.
//
// Answers: 404 is NOT_FOUND (the field decides whether that is null); another error status
// maps as gRPC statuses do (httpStatusError in src/errors.ts), with the upstream's own
// message only where errorMessage: asks for it; a 204 or an empty body is true for a
// Boolean field and null for any other; a text/plain body is the value of a String field;
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

export interface HttpCallSpec {
  upstream: UpstreamRuntime;
  method: string;
  url: (scope: TemplateScope) => string;
  body?: (scope: TemplateScope) => unknown;
  headers: HeaderTemplate[];
  /** `result:` path into the response JSON. */
  result?: string[];
  timeoutMs?: number;
  /** What the field returns, for answers that are not JSON: 204 gives Boolean true, text/plain a String. */
  returns: 'Boolean' | 'String' | 'other';
  /** The field's own errorMessage: path (else the upstream's). */
  errorMessage?: string[];
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

  async #send(
    path: string,
    fieldHeaders: Record<string, string> | undefined,
    body: string | undefined,
    scope: TemplateScope,
    ctx: QuiltContext,
  ): Promise<unknown> {
    const { upstream, method, result, returns } = this.#spec;
    const errorMessage = this.#spec.errorMessage ?? upstream.config.errorMessage;
    const headers = upstreamHeaders(upstream.config, scope, ctx);
    if (fieldHeaders) Object.assign(headers, fieldHeaders);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const name = upstream.config.name;
    const timeoutMs = this.#spec.timeoutMs ?? upstream.config.timeoutMs;
    let replicaUrl = '';
    let response: HttpResponse;
    try {
      response = await upstream.cluster.call(
        async (replica, tryTimeoutMs) => {
          replicaUrl = replica.url;
          return failOnServerError(
            await upstream.http.send(replica.url, { method, path, headers, body, timeoutMs: tryTimeoutMs }),
            replica.url,
          );
        },
        { idempotent: this.#isRead, routing: callRouting(ctx, path), timeoutMs },
      );
    } catch (e) {
      throw logged(ctx, transportError(name, timeoutMs, e, { method, path }, errorMessage));
    }
    passResponseHeaders(ctx, upstream.config.responseHeaders, response.headers);
    const detail = { method, path, replica: replicaUrl, status: response.status };
    if (response.status === 404) return NOT_FOUND;
    if (response.status >= 400) {
      const message = upstreamMessage(response.text, errorMessage);
      throw logged(
        ctx,
        httpStatusError(name, response.status, { ...detail, body: response.text.slice(0, 500) }, message),
      );
    }
    if (response.text === '' || response.status === 204) return returns === 'Boolean' ? true : null;
    if (returns === 'String' && response.contentType?.startsWith('text/plain')) return response.text;
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
