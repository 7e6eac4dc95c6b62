// What every connector does the same way around a call: the headers it carries, the one rule
// that makes a server error (HTTP 5xx, gRPC UNAVAILABLE) a replica failure, so that the
// cluster counts it and may retry a read,
// the mapping of transport failures onto the error catalogue (src/errors.ts), and logging of
// upstream details, which never reach the client.
import type { UpstreamConfig } from '../config/upstream.js';
import { httpStatusError, QuiltError, upstreamTimeout, upstreamUnavailable } from '../errors.js';
import { type QuiltContext, RequestDeadlineExceeded } from '../request-context/context.js';
import type { TemplateScope } from '../templates/placeholders.js';
import { GrpcStatusError } from '../upstream/transport/grpc.js';
import type { HttpResponse } from '../upstream/transport/http.js';
import { type AttemptTrace, TransportFailure } from '../upstream/types.js';

/** Headers every call to an upstream carries: request id, forwarded and static headers. */
export function upstreamHeaders(
  config: UpstreamConfig,
  scope: TemplateScope,
  ctx: QuiltContext,
): Record<string, string> {
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

/**
 * An HTTP answer of 500 or more is the replica failing, not an answer: thrown for the cluster.
 * Every answer's status goes to the attempt's trace when the call is traced.
 */
export function failOnServerError(answer: HttpResponse, replica: string, trace?: AttemptTrace): HttpResponse {
  trace?.status(answer.status);
  if (answer.status >= 500)
    throw new TransportFailure('status', true, replica, `HTTP ${answer.status}`, { status: answer.status, answer });
  return answer;
}

/** gRPC's form of the same rule: UNAVAILABLE from a replica is the replica failing. */
export async function failOnUnavailable<T>(call: Promise<T>, trace?: AttemptTrace): Promise<T> {
  try {
    const reply = await call;
    trace?.status('OK');
    return reply;
  } catch (e) {
    if (e instanceof GrpcStatusError) {
      trace?.status(e.codeName);
      if (e.codeName === 'UNAVAILABLE')
        throw new TransportFailure('status', true, e.replica, e.message, { status: e.codeName, cause: e });
    }
    throw e;
  }
}

/**
 * What the cluster threw, as the error a client sees (details kept for the log). A server
 * error that outlived its retries maps by its status (httpStatusError); `errorMessage` is
 * the opt-in path to the upstream's own message in its JSON body.
 */
export function transportError(
  upstream: string,
  timeoutMs: number,
  e: unknown,
  detail: Record<string, unknown>,
  errorMessage?: readonly string[],
): QuiltError {
  if (e instanceof QuiltError) return e;
  if (e instanceof TransportFailure) {
    const d = { ...detail, replica: e.replica, failure: e.message };
    if (e.kind === 'status' && typeof e.status === 'number') {
      const answer = e.answer as HttpResponse | undefined;
      return httpStatusError(
        upstream,
        e.status,
        { ...d, body: answer?.text.slice(0, 500) },
        upstreamMessage(answer?.text, errorMessage),
      );
    }
    if (e.kind === 'cancelled' && e.cause instanceof RequestDeadlineExceeded)
      return upstreamTimeout(upstream, e.cause.timeoutMs, { ...d, failure: e.cause.message });
    return e.kind === 'timeout' ? upstreamTimeout(upstream, timeoutMs, d) : upstreamUnavailable(upstream, d);
  }
  return upstreamUnavailable(upstream, { ...detail, failure: String((e as Error)?.message ?? e) });
}

/** The string at `path` in an error answer's JSON body, when the schema asked for it and it is there. */
export function upstreamMessage(body: string | undefined, path: readonly string[] | undefined): string | undefined {
  if (!path || !body) return undefined;
  try {
    let value: unknown = JSON.parse(body);
    for (const key of path)
      value = value === null || typeof value !== 'object' ? undefined : (value as Record<string, unknown>)[key];
    return typeof value === 'string' && value !== '' ? value.slice(0, 1000) : undefined;
  } catch {
    return undefined;
  }
}

/** Upstream details go to the log with the request id; the client sees only code and message. */
export function logged(ctx: QuiltContext | undefined, error: QuiltError): QuiltError {
  if (!ctx) return error;
  const fields = { requestId: ctx.requestId, code: error.code, ...error.extensions, ...error.detail };
  // The client went away: nobody gets this error, and no upstream is at fault.
  if (ctx.signal?.aborted && !(ctx.signal.reason instanceof RequestDeadlineExceeded))
    ctx.log.debug(fields, `${error.message} (the client went away)`);
  else ctx.log.warn(fields, error.message);
  return error;
}
