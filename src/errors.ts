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
