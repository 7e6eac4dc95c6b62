// What a limit check does when the shared store (Redis) cannot answer: unreachable, timed
// out, or any other error. The store is a safeguard of the gateway, not the service itself,
// so the default is to fail open; an operator who would rather refuse than over-serve sets
// redisFailure 'closed'.
//
// - 'open' (default): the check passes (take ok, hit counts nothing), quilt_limit_store_errors_total
//   {action="allowed"} counts it, and a warning is logged at most once per `warnIntervalMs`.
// - 'closed': the request is refused as over its limit, code RATE_LIMITED, so clients retry
//   the way they already do for limits: a cost budget take returns ok: false with
//   retryAfterSec 1 (HTTP 429 + Retry-After: 1 from the cost plugin); a @rateLimit field is
//   null with RATE_LIMITED (the hit throws limitStoreUnavailable()). Counted {action="refused"}.
//   429 rather than 503: the client's remedy (back off, retry later) is the same, and
//   the error catalogue (src/errors.ts) has no separate code for it.
// - A refund that fails is dropped (the client loses those points until the bucket refills);
//   it is logged but neither allowed nor refused anything.
//
// Every call also has a deadline (`deadlineMs`, 250 ms), so no request waits on Redis longer
// than that whatever the client library does. A dead Redis fails at once (no connection: the
// client queues nothing); the deadline is for a hung one.
import type { Logger } from 'pino';
import { limitStoreUnavailable } from '../../errors.js';
import { rateLimitedWarning, withDeadline } from '../../redis/redis-client.js';
import type { SecurityMetrics } from '../security-metrics.js';
import type { BucketSpec, BucketState, LimitStore } from './types.js';

export type FailurePolicy = 'open' | 'closed';

export interface FailurePolicyOptions {
  /** Default 250 ms. */
  deadlineMs?: number;
  /** Default 5000 ms. */
  warnIntervalMs?: number;
}

export class FailurePolicyStore implements LimitStore {
  readonly #inner: LimitStore;
  readonly #policy: FailurePolicy;
  readonly #metrics: SecurityMetrics;
  readonly #deadlineMs: number;
  readonly #warn: (err: unknown, op: string) => void;

  constructor(
    inner: LimitStore,
    policy: FailurePolicy,
    deps: { log: Logger; metrics: SecurityMetrics },
    options: FailurePolicyOptions = {},
  ) {
    this.#inner = inner;
    this.#policy = policy;
    this.#metrics = deps.metrics;
    this.#deadlineMs = options.deadlineMs ?? 250;
    const action = policy === 'closed' ? 'refusing limited requests' : 'letting requests through unchecked';
    this.#warn = rateLimitedWarning(
      deps.log,
      `limit store (Redis) unavailable: ${action}`,
      options.warnIntervalMs ?? 5000,
    );
  }

  /** Logs a store error through the same rate-limited warning (for client-level error events). */
  reportError(err: unknown): void {
    this.#warn(err, 'connection');
  }

  async take(key: string, cost: number, spec: BucketSpec): Promise<BucketState> {
    try {
      return await this.#withDeadline(this.#inner.take(key, cost, spec));
    } catch (err) {
      this.#warn(err, 'take');
      if (this.#policy === 'closed') {
        this.#metrics.limitStoreError('refused');
        return { ok: false, remaining: 0, retryAfterSec: 1 };
      }
      this.#metrics.limitStoreError('allowed');
      return { ok: true, remaining: Math.max(0, spec.capacity - cost), retryAfterSec: 0 };
    }
  }

  async refund(key: string, points: number, spec: BucketSpec): Promise<BucketState> {
    try {
      return await this.#withDeadline(this.#inner.refund(key, points, spec));
    } catch (err) {
      this.#warn(err, 'refund');
      return { ok: true, remaining: 0, retryAfterSec: 0 };
    }
  }

  async hit(key: string, count: number, windowMs: number): Promise<number[]> {
    try {
      return await this.#withDeadline(this.#inner.hit(key, count, windowMs));
    } catch (err) {
      this.#warn(err, 'hit');
      if (this.#policy === 'closed') {
        this.#metrics.limitStoreError('refused');
        throw limitStoreUnavailable();
      }
      this.#metrics.limitStoreError('allowed');
      return [];
    }
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  #withDeadline<T>(operation: Promise<T>): Promise<T> {
    return withDeadline(operation, this.#deadlineMs, 'limit store');
  }
}
