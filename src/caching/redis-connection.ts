// The Redis connection both caches share with --redis-url (a connection of their own, with the
// limit store's settings: src/security/limits/redis-store.ts). A cache is an optimisation, so
// whatever Redis does, a request neither fails nor waits for it: every operation has a
// deadline (--redis-timeout-ms, 250 ms), a lookup that fails or times out is a miss, a write
// or an invalidation that fails is dropped. Each failure is counted in
// quilt_cache_store_errors_total{cache,operation} and logged as a warning at most every 5 s.
// Redis is expected standalone (an entry and its entity index live in different keys).
import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { CacheMetrics, CacheName } from './cache-metrics.js';

// ioredis is loaded when a Redis cache is configured, not by every gateway.
const loadRedis = (): typeof import('ioredis').Redis => createRequire(import.meta.url)('ioredis').Redis;

export const CACHE_KEY_PREFIX = 'quilt:cache:';

const WARN_INTERVAL_MS = 5000;
const CONNECT_WAIT_MS = 100;

class DeadlineError extends Error {
  constructor(ms: number) {
    super(`cache store did not answer within ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

export class CacheRedis {
  readonly client: Redis;
  readonly #deadlineMs: number;
  readonly #log: Logger;
  readonly #metrics: CacheMetrics;
  #lastWarnAt = -Infinity;
  #suppressed = 0;
  #failed = false;

  constructor(url: string, deps: { deadlineMs: number; log: Logger; metrics: CacheMetrics }) {
    const options: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: Math.max(1000, deps.deadlineMs * 4),
      connectTimeout: 1000,
      retryStrategy: (times) => Math.min(50 * times, 2000),
    };
    this.client = new (loadRedis())(url, options);
    this.#deadlineMs = deps.deadlineMs;
    this.#log = deps.log;
    this.#metrics = deps.metrics;
    this.client.on('error', (err: Error) => {
      this.#failed = true;
      this.#warn(err, 'connection');
    });
    this.client.on('ready', () => {
      if (this.#failed) this.#log.info('cache store (Redis) reachable again');
      this.#failed = false;
    });
  }

  /** `operation`'s value, or undefined when Redis failed or did not answer in time (counted, logged). */
  async run<T>(cache: CacheName, operation: string, fn: (redis: Redis) => Promise<T>): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.#connected();
      const work = fn(this.client);
      // A late answer (or error) of an abandoned operation is ignored.
      work.catch(() => {});
      const deadline = new Promise<never>((_resolve, reject) => {
        // setImmediate: an answer already waiting in the socket is read before the deadline
        // fires (timers run before I/O in each turn of the event loop).
        timer = setTimeout(() => setImmediate(() => reject(new DeadlineError(this.#deadlineMs))), this.#deadlineMs);
      });
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
    try {
      if (this.client.status === 'ready') await this.client.quit();
    } catch {
      // closing anyway
    } finally {
      this.client.disconnect();
    }
  }

  /** Right after start-up, or during a reconnect attempt, wait briefly rather than fail at once. */
  async #connected(): Promise<void> {
    const redis = this.client;
    if (redis.status !== 'wait' && redis.status !== 'connecting' && redis.status !== 'connect') return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        for (const event of ['ready', 'close', 'end']) redis.off(event, done);
        resolve();
      };
      const timer = setTimeout(done, CONNECT_WAIT_MS);
      for (const event of ['ready', 'close', 'end']) redis.once(event, done);
    });
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
