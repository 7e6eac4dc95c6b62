// The one way Quilt talks to Redis (--redis-url), shared by the limit store
// (src/security/limits/redis-store.ts) and the caches (src/caching/redis-connection.ts).
// Redis must never hold a request: the client queues nothing while disconnected
// (enableOfflineQueue: false), so a command then fails at once; a command is never retried
// (maxRetriesPerRequest: 0); the client reconnects in the background, soon at first, then
// every 2 s at most. Every call a request waits on has a deadline (withDeadline), and
// failures are logged at most once per interval (rateLimitedWarning). What a failure means for
// the request is each caller's decision.
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * A client for `url`. ioredis (~16 MB resident) is loaded by the first caller, not by every
 * gateway. `commandTimeoutMs` is a backstop only: ioredis's timer fires even when the answer
 * is already in the socket behind a busy event loop, so callers keep shorter deadlines of their own.
 */
export function createRedisClient(url: string, commandTimeoutMs: number): Redis {
  const RedisClient: typeof import('ioredis').Redis = createRequire(import.meta.url)('ioredis').Redis;
  return new RedisClient(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 1000,
    retryStrategy: (times) => Math.min(50 * times, 2000),
  });
}

/**
 * Without an offline queue a command sent while the connection is being made (the first use,
 * a reconnect attempt) fails at once, a few milliseconds too early; so wait up to `waitMs`
 * for the attempt to end either way. Resolves at once when no attempt is under way.
 */
export async function connectionSettled(redis: Redis, waitMs: number): Promise<void> {
  if (redis.status !== 'wait' && redis.status !== 'connecting' && redis.status !== 'connect') return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      for (const event of ['ready', 'close', 'end']) redis.off(event, done);
      resolve();
    };
    const timer = setTimeout(done, waitMs);
    for (const event of ['ready', 'close', 'end']) redis.once(event, done);
  });
}

/** Closes `redis`: politely (QUIT) when connected, and in any case without reconnecting. */
export async function closeRedisClient(redis: Redis): Promise<void> {
  try {
    if (redis.status === 'ready') await redis.quit();
  } catch {
    // closing anyway
  } finally {
    redis.disconnect();
  }
}

class DeadlineError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

/**
 * `operation`, or a DeadlineError after `ms`: no request waits on Redis longer than that,
 * whatever the client library does. A late answer (or error) of the abandoned operation is ignored.
 */
export function withDeadline<T>(operation: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    // Timers run before I/O in each turn of the event loop: on a busy gateway the timer can
    // fire while Redis's answer is already waiting in the socket. setImmediate runs after
    // that I/O, so only an answer that has really not come yet misses the deadline.
    timer = setTimeout(() => setImmediate(() => reject(new DeadlineError(what, ms))), ms);
  });
  operation.catch(() => {});
  return Promise.race([operation, deadline]).finally(() => clearTimeout(timer));
}

/**
 * A warning for Redis failures: one now, then at most one per interval, with the number of
 * failures in between (`suppressed`).
 */
export function rateLimitedWarning(
  log: Logger,
  message: string,
  intervalMs: number,
): (err: unknown, operation: string) => void {
  let lastAt = -Infinity;
  let suppressed = 0;
  return (err, operation) => {
    const now = performance.now();
    if (now - lastAt < intervalMs) {
      suppressed++;
      return;
    }
    lastAt = now;
    log.warn(
      { err: err instanceof Error ? { message: err.message, name: err.name } : String(err), operation, suppressed },
      message,
    );
    suppressed = 0;
  };
}
