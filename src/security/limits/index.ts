// The shared state of limits: token buckets and sliding windows, in memory or in Redis.
export { createLimitStore } from './create-limit-store.js';
export { FailurePolicyStore } from './failure-policy.js';
export { MemoryLimitStore } from './memory-store.js';
export { RedisLimitStore } from './redis-store.js';
export type { BucketSpec, BucketState, LimitStore } from './types.js';
