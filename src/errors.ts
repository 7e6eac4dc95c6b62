// The one error catalogue. Every error Quilt makes for a client carries one of these codes and
// is made by a factory below (the README's "Errors" table lists them all); every load-time
// problem is a ConfigProblem with file:line:column. A refusal made before yoga has a GraphQL
// request to answer goes out through refusalResponse(), so it looks like any other error.
import { type ASTNode, GraphQLError } from 'graphql';

export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'BAD_USER_INPUT'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'COST_LIMIT_EXCEEDED'
  | 'RATE_LIMITED'
  | 'DEPTH_LIMIT_EXCEEDED'
  | 'ALIAS_LIMIT_EXCEEDED'
  | 'TOKEN_LIMIT_EXCEEDED'
  | 'DIRECTIVE_LIMIT_EXCEEDED'
  | 'BATCH_LIMIT_EXCEEDED'
  | 'REQUEST_ENTITY_TOO_LARGE'
  | 'CSRF_PREVENTED'
  | 'PERSISTED_QUERY_NOT_IN_LIST'
  | 'PERSISTED_QUERY_ID_REQUIRED'
  | 'OVERLOADED'
  | 'UPSTREAM_ERROR'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_BAD_RESPONSE'
  | 'INTERNAL_SERVER_ERROR';

/** Where a GraphQL error points: the nodes and response path of a field, or a location in the document. */
export interface ErrorLocation {
  nodes?: ASTNode | readonly ASTNode[] | null;
  path?: readonly (string | number)[];
  source?: GraphQLError['source'];
  positions?: readonly number[];
}

export interface QuiltErrorOptions extends ErrorLocation {
  extensions?: Record<string, unknown>;
  /** What the operator needs to debug (replica address, upstream body): logged, never sent. */
  detail?: Record<string, unknown>;
  cause?: unknown;
}

/** Fields safe to show a client; `detail` and `cause` go to the log only. */
export class QuiltError extends GraphQLError {
  readonly code: ErrorCode;
  readonly detail: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: QuiltErrorOptions = {}) {
    super(message, {
      nodes: opts.nodes,
      path: opts.path,
      source: opts.source,
      positions: opts.positions,
      extensions: { code, ...opts.extensions },
      originalError: opts.cause instanceof Error ? opts.cause : undefined,
    });
    this.name = 'QuiltError';
    this.code = code;
    this.detail = opts.detail ?? {};
  }
}

// Upstream outcomes (src/connectors). The message names the upstream, never a replica.

export function upstreamError(upstream: string, status: number | string, detail: Record<string, unknown>): QuiltError {
  return new QuiltError('UPSTREAM_ERROR', `Upstream "${upstream}" answered with status ${status}`, {
    extensions: { upstream, status },
    detail,
  });
}

/** timeoutMs undefined: the replica's own deadline ran out (a gRPC DEADLINE_EXCEEDED it answered). */
export function upstreamTimeout(
  upstream: string,
  timeoutMs: number | undefined,
  detail: Record<string, unknown>,
): QuiltError {
  const within = timeoutMs === undefined ? 'in time' : `within ${timeoutMs} ms`;
  return new QuiltError('UPSTREAM_TIMEOUT', `Upstream "${upstream}" did not answer ${within}`, {
    extensions: { upstream },
    detail,
  });
}

export function upstreamUnavailable(upstream: string, detail: Record<string, unknown>): QuiltError {
  return new QuiltError('UPSTREAM_UNAVAILABLE', `Upstream "${upstream}" is unavailable`, {
    extensions: { upstream },
    detail,
  });
}

/** An answer that is not valid JSON (or not GraphQL, for a remote GraphQL upstream). */
export function upstreamBadResponse(upstream: string, detail: Record<string, unknown>): QuiltError {
  return new QuiltError('UPSTREAM_BAD_RESPONSE', `Upstream "${upstream}" sent a response that is not valid JSON`, {
    extensions: { upstream },
    detail,
  });
}

/**
 * An upstream's HTTP error status as the error a client sees, mapped as gRPC statuses are:
 * 400 and 422 BAD_USER_INPUT, 401 UNAUTHENTICATED, 403 FORBIDDEN, 408 and 504
 * UPSTREAM_TIMEOUT, 502 and 503 UPSTREAM_UNAVAILABLE, anything else UPSTREAM_ERROR; each
 * with `upstream` and `status`. `message` is the upstream's own text when the schema opted in
 * (errorMessage:); otherwise a message naming only the upstream and the status.
 */
export function httpStatusError(
  upstream: string,
  status: number,
  detail: Record<string, unknown>,
  message?: string,
): QuiltError {
  const extensions = { upstream, status };
  const say = (fallback: string) => message ?? `Upstream "${upstream}" ${fallback} (status ${status})`;
  switch (status) {
    case 400:
    case 422:
      return new QuiltError('BAD_USER_INPUT', say('rejected the request as invalid'), { extensions, detail });
    case 401:
      return new QuiltError('UNAUTHENTICATED', say('rejected the request as unauthenticated'), { extensions, detail });
    case 403:
      return new QuiltError('FORBIDDEN', say('rejected the request as forbidden'), { extensions, detail });
    case 408:
    case 504:
      return new QuiltError('UPSTREAM_TIMEOUT', say('did not answer in time'), { extensions, detail });
    case 502:
    case 503:
      return new QuiltError('UPSTREAM_UNAVAILABLE', say('is unavailable'), { extensions, detail });
    default:
      return new QuiltError('UPSTREAM_ERROR', message ?? `Upstream "${upstream}" answered with status ${status}`, {
        extensions,
        detail,
      });
  }
}

/** Data from an upstream that the schema cannot hold (an enum value no @enumValue maps, a non-null field missing). */
export function upstreamDataMismatch(
  upstream: string | undefined,
  reason: string,
  location: ErrorLocation = {},
  detail: Record<string, unknown> = {},
): QuiltError {
  const who = upstream ? `Upstream "${upstream}"` : 'An upstream';
  return new QuiltError('UPSTREAM_BAD_RESPONSE', `${who} sent data that does not fit the schema: ${reason}`, {
    ...location,
    extensions: upstream ? { upstream } : {},
    detail,
  });
}

const REJECTED_AS: Record<'BAD_USER_INPUT' | 'UNAUTHENTICATED' | 'FORBIDDEN', string> = {
  BAD_USER_INPUT: 'invalid',
  UNAUTHENTICATED: 'unauthenticated',
  FORBIDDEN: 'forbidden',
};

/** The upstream refused the request itself (gRPC INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED). */
export function upstreamRejected(
  upstream: string,
  code: keyof typeof REJECTED_AS,
  detail: Record<string, unknown>,
): QuiltError {
  return new QuiltError(code, `Upstream "${upstream}" rejected the request as ${REJECTED_AS[code]}`, {
    extensions: { upstream },
    detail,
  });
}

// The client's input.

export function badUserInput(message: string, location: ErrorLocation = {}): QuiltError {
  return new QuiltError('BAD_USER_INPUT', message, location);
}

/** Anything unexpected: the message is generic, the original goes to the log. */
export function internalError(message: string, location: ErrorLocation = {}): QuiltError {
  return new QuiltError('INTERNAL_SERVER_ERROR', message, location);
}

// Authentication and authorization (src/security).

export function invalidToken(message: string): QuiltError {
  // RFC 6750 section 3: the description is plain text, so quotes and backslashes cannot appear.
  const challenge = `Bearer error="invalid_token", error_description="${message.replace(/["\\]/g, "'")}"`;
  return new QuiltError('UNAUTHENTICATED', message, {
    extensions: { http: { status: 401, headers: { 'www-authenticate': challenge } } },
  });
}

/** A field denied by @authenticated (no token) or @requiresScopes (a token without the scopes). */
export function accessDenied(
  code: 'UNAUTHENTICATED' | 'FORBIDDEN',
  coordinate: string,
  location: ErrorLocation,
): QuiltError {
  const message =
    code === 'UNAUTHENTICATED'
      ? `Access to ${coordinate} requires authentication`
      : `Access to ${coordinate} is not granted to this token`;
  return new QuiltError(code, message, location);
}

// Cost and rate limits (src/security/cost, src/security/rate-limit, src/security/limits).

/** Over --max-cost, or over the whole budget (so it could never run). */
export function costLimitExceeded(requested: number, limit: number, what: 'maximum cost' | 'cost budget'): QuiltError {
  return new QuiltError(
    'COST_LIMIT_EXCEEDED',
    `The operation's estimated cost of ${requested} is above the ${what} of ${limit}.`,
    {
      extensions: { requestedQueryCost: requested, maxCost: limit, http: { status: 400, spec: true } },
    },
  );
}

/** The client's budget bucket holds fewer points than the operation needs: HTTP 429. */
export function costBudgetSpent(requested: number, remaining: number, retryAfterSec: number): QuiltError {
  const after = String(Math.max(1, Math.ceil(retryAfterSec)));
  return new QuiltError(
    'RATE_LIMITED',
    `The cost budget is spent: this operation needs ${requested} points and ${remaining} are left. Retry after ${after} s.`,
    {
      extensions: { retryAfterSec: Number(after), http: { status: 429, headers: { 'Retry-After': after } } },
    },
  );
}

/** @listSize(requireOneSlicingArgument) and the field was given none, or several, of them. */
export function slicingArgumentRequired(
  coordinate: string,
  slicingArguments: readonly string[],
  given: number,
): QuiltError {
  return new QuiltError(
    'GRAPHQL_VALIDATION_FAILED',
    `Field "${coordinate}" needs exactly one of its slicing arguments (${slicingArguments.join(', ')}) for its cost to be estimated; it has ${given}.`,
    { extensions: { http: { status: 400, spec: true } } },
  );
}

/** A @rateLimit field over its window. */
export function rateLimited(message: string, retryAfterSec: number): QuiltError {
  return new QuiltError('RATE_LIMITED', message, { extensions: { retryAfterSec } });
}

/** A @rateLimit check that could not be made (Redis down) under --redis-failure closed. */
export function limitStoreUnavailable(): QuiltError {
  return rateLimited('Rate limits cannot be checked right now; retry shortly', 1);
}

// Hardening (src/security/hardening). The document limits carry no HTTP status: yoga gives
// parse and validation errors 400 (200 for legacy application/json clients, as the
// GraphQL-over-HTTP spec asks). Request-level refusals carry theirs in extensions.http,
// which yoga (or refusalResponse) turns into the response status and never sends to the client.

export type DocumentLimit = 'depth' | 'aliases' | 'tokens' | 'directives';

const LIMIT_CODES: Record<DocumentLimit, ErrorCode> = {
  depth: 'DEPTH_LIMIT_EXCEEDED',
  aliases: 'ALIAS_LIMIT_EXCEEDED',
  tokens: 'TOKEN_LIMIT_EXCEEDED',
  directives: 'DIRECTIVE_LIMIT_EXCEEDED',
};

export function documentLimitExceeded(limit: DocumentLimit, message: string): QuiltError {
  return new QuiltError(LIMIT_CODES[limit], message);
}

export function batchLimitExceeded(limit: number): QuiltError {
  return limit === 0
    ? new QuiltError('BATCH_LIMIT_EXCEEDED', 'Batched requests are not accepted: send one operation per request', {
        extensions: { http: { status: 400 } },
      })
    : new QuiltError('BATCH_LIMIT_EXCEEDED', `A batched request may hold at most ${limit} operations`, {
        extensions: { limit, http: { status: 413 } },
      });
}

export function requestTooLarge(maxBytes: number): QuiltError {
  return new QuiltError('REQUEST_ENTITY_TOO_LARGE', `Request body larger than ${maxBytes} bytes`, {
    extensions: { http: { status: 413 } },
  });
}

export function csrfPrevented(headers: readonly string[]): QuiltError {
  return new QuiltError(
    'CSRF_PREVENTED',
    `Refused as a possible cross-site request forgery: send Content-Type: application/json, or the header ${headers.join(' or ')}`,
    {
      extensions: { http: { status: 403 } },
    },
  );
}

export function addressForbidden(): QuiltError {
  return new QuiltError('FORBIDDEN', 'Requests from this address are not accepted', {
    extensions: { http: { status: 403 } },
  });
}

export function persistedQueryNotInList(): QuiltError {
  return new QuiltError(
    'PERSISTED_QUERY_NOT_IN_LIST',
    'Unknown document id: only trusted documents run on this gateway',
    { extensions: { http: { status: 400 } } },
  );
}

export function persistedQueryIdRequired(): QuiltError {
  return new QuiltError(
    'PERSISTED_QUERY_ID_REQUIRED',
    'Only trusted documents run on this gateway: send "documentId" or extensions.persistedQuery.sha256Hash instead of a query',
    {
      extensions: { http: { status: 400 } },
    },
  );
}

// Request protections (src/protections).

/** --max-in-flight requests are being served: 503, before the request is parsed. */
export function overloaded(maxInFlight: number, retryAfterSec: number): QuiltError {
  const after = String(retryAfterSec);
  return new QuiltError(
    'OVERLOADED',
    `The gateway is serving its limit of ${maxInFlight} requests; retry after ${after} s.`,
    { extensions: { http: { status: 503, headers: { 'Retry-After': after } } } },
  );
}

interface HttpExtension {
  status?: number;
  headers?: Record<string, string>;
}

/**
 * A refusal made in a plugin's onRequest, before yoga parsed a GraphQL request: the error as
 * a GraphQL response (message and code only), with the status and headers its
 * extensions.http carries. The media type follows the client's Accept, as yoga's does.
 */
export function refusalResponse(
  fetchAPI: { Response: typeof Response },
  request: Request,
  error: QuiltError,
): Response {
  const http = (error.extensions.http ?? {}) as HttpExtension;
  const body = JSON.stringify({ errors: [{ message: error.message, extensions: { code: error.code } }] });
  const graphqlResponse = (request.headers.get('accept') ?? '').includes('application/graphql-response+json');
  return new fetchAPI.Response(body, {
    status: http.status ?? 400,
    headers: {
      ...http.headers,
      'content-type': `${graphqlResponse ? 'application/graphql-response+json' : 'application/json'}; charset=utf-8`,
    },
  });
}

/** A load-time problem in a schema file: reported by `quilt check` and by hot reload. */
export interface ConfigProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.message}`;
}

/** A document `quilt import openapi` cannot turn into a schema file; the message names the file. */
export class ImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportError';
  }
}
