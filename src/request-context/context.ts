// Per-request state. Loaders and the dedupe cache live on the context object, so they are
// created per request and collected with it; there is no global fallback.
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { CallTracer } from '../upstream/types.js';

export interface QuiltContext {
  requestId: string;
  /** Incoming request headers, lower-cased names. */
  headers: Record<string, string | undefined>;
  /** The client's address (the TCP peer), for HASH/STICKY balancing and per-client limits. */
  clientIp?: string;
  /** Verified JWT claims, when the request carried a valid token. */
  jwt?: Record<string, unknown>;
  log: Logger;
  /** DataLoaders and identical-call promises of this request, by a key naming their purpose. */
  perRequest: Map<string, unknown>;
  /**
   * Ends every upstream call of this request: fired when the client goes away, and when the
   * operation's deadline passes (then its reason is a RequestDeadlineExceeded).
   */
  signal?: AbortSignal;
  /** Traces this request's upstream calls (set by the tracing plugin when --otlp-endpoint is on). */
  tracer?: CallTracer;
}

/** The reason of a request's signal when its deadline (--request-timeout-ms) passed. */
export class RequestDeadlineExceeded extends Error {
  constructor(readonly timeoutMs: number) {
    super(`the request timeout of ${timeoutMs} ms passed`);
    this.name = 'RequestDeadlineExceeded';
  }
}

export function perRequest<T>(ctx: QuiltContext, key: string, create: () => T): T {
  if (!ctx?.perRequest) throw new Error('Quilt resolver called without a Quilt request context');
  let value = ctx.perRequest.get(key) as T | undefined;
  if (value === undefined) {
    value = create();
    ctx.perRequest.set(key, value);
  }
  return value;
}

/** The TCP peer, with IPv4-mapped IPv6 addresses ("::ffff:10.0.0.1") written as IPv4. */
export function clientIpOf(req: IncomingMessage | undefined): string | undefined {
  const address = req?.socket.remoteAddress;
  return address?.startsWith('::ffff:') ? address.slice(7) : address;
}
