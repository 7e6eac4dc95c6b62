// The limit store the gateway's cost budgets and @rateLimit windows share: in Redis when
// --redis-url is given (exact across every instance on that Redis), else in this process.
// The Redis store is wrapped in the failure policy (failure-policy.ts: 'open' by default).
import type { Logger } from 'pino';
import type { SharedStateOptions } from '../options.js';
import type { SecurityMetrics } from '../security-metrics.js';
import { FailurePolicyStore } from './failure-policy.js';
import { MemoryLimitStore } from './memory-store.js';
import { RedisLimitStore } from './redis-store.js';
import type { LimitStore } from './types.js';

export function createLimitStore(
  options: SharedStateOptions,
  deps: { log: Logger; metrics: SecurityMetrics },
): LimitStore {
  if (!options.redisUrl) return new MemoryLimitStore();
  const log = deps.log.child({ component: 'limit-store' });
  let wrapped: FailurePolicyStore | undefined;
  let failed = false;
  const redis = new RedisLimitStore(options.redisUrl, {
    onError: (err) => {
      failed = true;
      wrapped?.reportError(err);
    },
    onReady: () => {
      if (failed) log.info('limit store (Redis) reachable again');
      failed = false;
    },
  });
  wrapped = new FailurePolicyStore(
    redis,
    options.redisFailure,
    { log, metrics: deps.metrics },
    { deadlineMs: options.redisTimeoutMs },
  );
  return wrapped;
}
