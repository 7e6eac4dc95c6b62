// The Redis connection both caches share with --redis-url (a connection of their own, made by
// src/redis/redis-client.ts as the limit store's is). A cache is an optimisation, so
// whatever Redis does, a request neither fails nor waits for it: every operation has a
// deadline (--redis-timeout-ms, 250 ms), a lookup that fails or times out is a miss, a write
// or an invalidation that fails is dropped. Each failure is counted in
// quilt_cache_store_errors_total{cache,operation} and logged as a warning at most every 5 s.
// Redis is expected standalone (an entry and its entity index live in different keys).
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import {
  closeRedisClient,
  connectionSettled,
  createRedisClient,
  rateLimitedWarning,
  withDeadline,
} from '../redis/redis-client.js';
import type { CacheMetrics, CacheName } from './cache-metrics.js';

export const CACHE_KEY_PREFIX = 'quilt:cache:';

export class CacheRedis {
  #client?: Redis;
  readonly #url: string;
  readonly #deadlineMs: number;
  readonly #log: Logger;
  readonly #metrics: CacheMetrics;
  readonly #setups: ((client: Redis) => void)[] = [];
  readonly #warn: (err: unknown, operation: string) => void;
  #failed = false;

  constructor(url: string, deps: { deadlineMs: number; log: Logger; metrics: CacheMetrics }) {
    this.#url = url;
    this.#deadlineMs = deps.deadlineMs;
    this.#log = deps.log;
    this.#metrics = deps.metrics;
    this.#warn = rateLimitedWarning(deps.log, 'cache store (Redis) unavailable: answering as cache misses', 5000);
  }

  /** `setup` runs on the client when it is made (a store's scripts). */
  onClient(setup: (client: Redis) => void): void {
    this.#setups.push(setup);
    if (this.#client) setup(this.#client);
  }

  /**
   * Connected on first use: a gateway with --redis-url (for its limits) whose schemas use no
   * cache opens no connection for caches.
   */
  get client(): Redis {
    if (this.#client) return this.#client;
    const client = createRedisClient(this.#url, Math.max(1000, this.#deadlineMs * 4));
    client.on('error', (err: Error) => {
      this.#failed = true;
      this.#warn(err, 'connection');
    });
    client.on('ready', () => {
      if (this.#failed) this.#log.info('cache store (Redis) reachable again');
      this.#failed = false;
    });
    for (const setup of this.#setups) setup(client);
    this.#client = client;
    return client;
  }

  /** `operation`'s value, or undefined when Redis failed or did not answer in time (counted, logged). */
  async run<T>(cache: CacheName, operation: string, fn: (redis: Redis) => Promise<T>): Promise<T | undefined> {
    try {
      // The deadline covers waiting for a connection being made too.
      const connected = connectionSettled(this.client, this.#deadlineMs);
      return await withDeadline(
        connected.then(() => fn(this.client)),
        this.#deadlineMs,
        'cache store',
      );
    } catch (err) {
      this.#metrics.storeError(cache, operation);
      this.#warn(err, `${cache} ${operation}`);
      return undefined;
    }
  }

  async close(): Promise<void> {
    if (this.#client) await closeRedisClient(this.#client);
  }
}
