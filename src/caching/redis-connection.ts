// The Redis connection both caches share with --redis-url (a connection of their own, made by
// src/redis/redis-client.ts as the limit store's is). A cache is an optimisation, so
// whatever Redis does, a request neither fails nor waits for it: every operation has a
// deadline (--redis-timeout-ms, 250 ms), a lookup that fails or times out is a miss, a write
// or an invalidation that fails is dropped. Each failure is counted in
// quilt_cache_store_errors_total{cache,operation} and logged as a warning at most every 5 s.
// Redis is expected standalone (an entry and its entity index live in different keys).
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { closeRedisClient, connectionSettled, createRedisClient } from '../redis/redis-client.js';
import type { CacheMetrics, CacheName } from './cache-metrics.js';

export const CACHE_KEY_PREFIX = 'quilt:cache:';

const WARN_INTERVAL_MS = 5000;

class DeadlineError extends Error {
  constructor(ms: number) {
    super(`cache store did not answer within ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

export class CacheRedis {
  #client?: Redis;
  readonly #url: string;
  readonly #deadlineMs: number;
  readonly #log: Logger;
  readonly #metrics: CacheMetrics;
  readonly #setups: ((client: Redis) => void)[] = [];
  #lastWarnAt = -Infinity;
  #suppressed = 0;
  #failed = false;

  constructor(url: string, deps: { deadlineMs: number; log: Logger; metrics: CacheMetrics }) {
    this.#url = url;
    this.#deadlineMs = deps.deadlineMs;
    this.#log = deps.log;
    this.#metrics = deps.metrics;
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
    let timer: NodeJS.Timeout | undefined;
    try {
      // The deadline covers waiting for a connection being made too.
      const deadline = new Promise<never>((_resolve, reject) => {
        // setImmediate: an answer already waiting in the socket is read before the deadline
        // fires (timers run before I/O in each turn of the event loop).
        timer = setTimeout(() => setImmediate(() => reject(new DeadlineError(this.#deadlineMs))), this.#deadlineMs);
      });
      const work = connectionSettled(this.client, this.#deadlineMs).then(() => fn(this.client));
      // A late answer (or error) of an abandoned operation is ignored.
      work.catch(() => {});
      return await Promise.race([work, deadline]);
    } catch (err) {
      this.#metrics.storeError(cache, operation);
      this.#warn(err, `${cache} ${operation}`);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.#client) await closeRedisClient(this.#client);
  }

  #warn(err: unknown, operation: string): void {
    const now = performance.now();
    if (now - this.#lastWarnAt < WARN_INTERVAL_MS) {
      this.#suppressed++;
      return;
    }
    this.#lastWarnAt = now;
    this.#log.warn(
      {
        err: err instanceof Error ? { message: err.message, name: err.name } : String(err),
        operation,
        suppressed: this.#suppressed,
      },
      'cache store (Redis) unavailable: answering as cache misses',
    );
    this.#suppressed = 0;
  }
}
