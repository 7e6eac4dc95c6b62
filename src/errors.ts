// The one error catalog (DESIGN.md section 6). Every error Quilt makes for a client carries
// one of these codes; every load-time problem is a ConfigProblem with file:line:column.
import { GraphQLError } from 'graphql';

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
  | 'UPSTREAM_ERROR'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_BAD_RESPONSE';

/** Fields safe to show a client; `detail` and `cause` go to the log only. */
export class QuiltError extends GraphQLError {
  readonly code: ErrorCode;
  /** What the operator needs to debug (replica address, upstream body): logged, never sent. */
  readonly detail: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { extensions?: Record<string, unknown>; detail?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { extensions: { code, ...opts.extensions }, originalError: opts.cause instanceof Error ? opts.cause : undefined });
    this.name = 'QuiltError';
    this.code = code;
    this.detail = opts.detail ?? {};
  }
}

export function upstreamError(upstream: string, status: number | string, detail: Record<string, unknown>): QuiltError {
  return new QuiltError('UPSTREAM_ERROR', `Upstream "${upstream}" answered with status ${status}`, {
    extensions: { upstream, status },
    detail,
  });
}

export function upstreamTimeout(upstream: string, timeoutMs: number, detail: Record<string, unknown>): QuiltError {
  return new QuiltError('UPSTREAM_TIMEOUT', `Upstream "${upstream}" did not answer within ${timeoutMs} ms`, {
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

export function upstreamBadResponse(upstream: string, detail: Record<string, unknown>): QuiltError {
  return new QuiltError('UPSTREAM_BAD_RESPONSE', `Upstream "${upstream}" sent a response that is not valid JSON`, {
    extensions: { upstream },
    detail,
  });
}

export function badUserInput(message: string): QuiltError {
  return new QuiltError('BAD_USER_INPUT', message);
}

// Hardening (src/security/hardening). The document limits carry no HTTP status: yoga gives
// parse and validation errors 400 (200 for legacy application/json clients, as the
// GraphQL-over-HTTP spec asks). Request-level refusals carry theirs in extensions.http,
// which yoga turns into the response status and never sends to the client.

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
    ? new QuiltError('BATCH_LIMIT_EXCEEDED', 'Batched requests are not accepted: send one operation per request', { extensions: { http: { status: 400 } } })
    : new QuiltError('BATCH_LIMIT_EXCEEDED', `A batched request may hold at most ${limit} operations`, { extensions: { limit, http: { status: 413 } } });
}

export function requestTooLarge(maxBytes: number): QuiltError {
  return new QuiltError('REQUEST_ENTITY_TOO_LARGE', `Request body larger than ${maxBytes} bytes`, { extensions: { http: { status: 413 } } });
}

export function csrfPrevented(headers: readonly string[]): QuiltError {
  return new QuiltError(
    'CSRF_PREVENTED',
    `Refused as a possible cross-site request forgery: send Content-Type: application/json, or the header ${headers.join(' or ')}`,
    { extensions: { http: { status: 403 } } },
  );
}

export function addressForbidden(): QuiltError {
  return new QuiltError('FORBIDDEN', 'Requests from this address are not accepted', { extensions: { http: { status: 403 } } });
}

export function persistedQueryNotInList(): QuiltError {
  return new QuiltError('PERSISTED_QUERY_NOT_IN_LIST', 'Unknown document id: only trusted documents run on this gateway', { extensions: { http: { status: 400 } } });
}

export function persistedQueryIdRequired(): QuiltError {
  return new QuiltError(
    'PERSISTED_QUERY_ID_REQUIRED',
    'Only trusted documents run on this gateway: send "documentId" or extensions.persistedQuery.sha256Hash instead of a query',
    { extensions: { http: { status: 400 } } },
  );
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
