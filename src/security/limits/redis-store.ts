// The limit store shared by every gateway instance that names one --redis-url. Each
// operation is one Lua script (redis-scripts.ts), sent with EVALSHA through ioredis's
// defineCommand (which falls back to EVAL when Redis restarted and lost its script cache).
// Keys start with `quilt:` and expire once idle: a bucket when it would be full again, a
// window when its newest entry leaves it.
//
// A dead Redis must not hold requests: the client queues nothing while disconnected
// (enableOfflineQueue: false), so a command then fails at once; a command is never retried
// (maxRetriesPerRequest: 0), and the client reconnects in the background. A hung Redis is
// cut short by failure-policy.ts's deadline (250 ms); `commandTimeoutMs` here is only a
// backstop, because ioredis's timer fires even when the answer is already in the socket
// behind a busy event loop. Errors are thrown to the caller; what a failure means for the
// request is failure-policy.ts's decision.
import { createRequire } from 'node:module';
import type { Redis, RedisOptions } from 'ioredis';

// ioredis (~16 MB resident) is loaded when a Redis store is created, not by every gateway.
const loadRedis = (): typeof import('ioredis').Redis => createRequire(import.meta.url)('ioredis').Redis;

import { MAX_WINDOW_ENTRIES } from './memory-store.js';
import { HIT_SCRIPT, REFUND_SCRIPT, TAKE_SCRIPT } from './redis-scripts.js';
import type { BucketSpec, BucketState, LimitStore } from './types.js';

export interface RedisLimitStoreOptions {
  /** A command not answered within this fails (default 1000 ms; the failure policy's deadline is shorter). */
  commandTimeoutMs?: number;
  /** While a connection attempt is under way, wait this long for it before failing (default 100 ms). */
  connectWaitMs?: number;
  /** Reported for every client error (connection refused, reset...); ioredis would otherwise print them. */
  onError?: (err: Error) => void;
  /** Called when the connection is (again) ready. */
  onReady?: () => void;
}

type ScriptReply = [number, string, number];

interface LimitCommands {
  quiltTake(key: string, capacity: number, rate: number, cost: number): Promise<ScriptReply>;
  quiltRefund(key: string, capacity: number, rate: number, points: number): Promise<ScriptReply>;
  quiltHit(key: string, seqKey: string, windowMs: number, count: number, keep: number): Promise<number[]>;
}

export const KEY_PREFIX = 'quilt:';

export class RedisLimitStore implements LimitStore {
  readonly #redis: Redis & LimitCommands;
  readonly #connectWaitMs: number;

  constructor(url: string, options: RedisLimitStoreOptions = {}) {
    const clientOptions: RedisOptions = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      connectTimeout: 1000,
      // Reconnect forever, soon at first, then every 2 s at most.
      retryStrategy: (times) => Math.min(50 * times, 2000),
    };
    const redis = new (loadRedis())(url, clientOptions);
    redis.defineCommand('quiltTake', { numberOfKeys: 1, lua: TAKE_SCRIPT });
    redis.defineCommand('quiltRefund', { numberOfKeys: 1, lua: REFUND_SCRIPT });
    redis.defineCommand('quiltHit', { numberOfKeys: 2, lua: HIT_SCRIPT });
    redis.on('error', (err: Error) => options.onError?.(err));
    redis.on('ready', () => options.onReady?.());
    this.#redis = redis as Redis & LimitCommands;
    this.#connectWaitMs = options.connectWaitMs ?? 100;
  }

  /** The connection is up and commands are being sent. */
  get ready(): boolean {
    return this.#redis.status === 'ready';
  }

  async take(key: string, cost: number, spec: BucketSpec): Promise<BucketState> {
    await this.#connected();
    const reply = await this.#redis.quiltTake(`${KEY_PREFIX}bucket:${key}`, spec.capacity, spec.refillPerSec, cost);
    return bucketState(reply);
  }

  async refund(key: string, points: number, spec: BucketSpec): Promise<BucketState> {
    await this.#connected();
    const reply = await this.#redis.quiltRefund(`${KEY_PREFIX}bucket:${key}`, spec.capacity, spec.refillPerSec, points);
    return bucketState(reply);
  }

  async hit(key: string, count: number, windowMs: number): Promise<number[]> {
    await this.#connected();
    const window = `${KEY_PREFIX}window:${key}`;
    const added = Math.min(Math.max(1, Math.floor(count)), MAX_WINDOW_ENTRIES);
    const [redisNow, ...stamps] = await this.#redis.quiltHit(
      window,
      `${window}:seq`,
      Math.max(1, Math.ceil(windowMs)),
      added,
      MAX_WINDOW_ENTRIES,
    );
    // Ages by Redis's clock, as timestamps of this process's clock (which the limiter filters with).
    const localNow = Date.now();
    return stamps.map((t) => localNow - (redisNow - t));
  }

  async close(): Promise<void> {
    try {
      if (this.ready) await this.#redis.quit();
    } catch {
      // closing anyway
    } finally {
      this.#redis.disconnect();
    }
  }

  /**
   * Without an offline queue a command sent before the connection is ready fails at once;
   * right after start-up (or while a reconnect attempt is under way) that would fail requests
   * a few milliseconds too early, so wait briefly for the attempt to end either way.
   */
  async #connected(): Promise<void> {
    const redis = this.#redis;
    if (redis.status !== 'wait' && redis.status !== 'connecting' && redis.status !== 'connect') return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        for (const event of ['ready', 'close', 'end']) redis.off(event, done);
        resolve();
      };
      const timer = setTimeout(done, this.#connectWaitMs);
      for (const event of ['ready', 'close', 'end']) redis.once(event, done);
    });
  }
}

function bucketState([ok, remaining, retryAfterSec]: ScriptReply): BucketState {
  return { ok: ok === 1, remaining: Number(remaining), retryAfterSec };
}
