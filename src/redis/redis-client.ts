// The one way Quilt talks to Redis (--redis-url), shared by the limit store
// (src/security/limits/redis-store.ts) and the caches (src/caching/redis-connection.ts).
// Redis must never hold a request: the client queues nothing while disconnected
// (enableOfflineQueue: false), so a command then fails at once; a command is never retried
// (maxRetriesPerRequest: 0); the client reconnects in the background, soon at first, then
// every 2 s at most. What a failure means for the request is each caller's decision.
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';

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
