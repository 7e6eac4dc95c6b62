// The limit store shared by every gateway instance that names one --redis-url. Each
// operation is one Lua script (redis-scripts.ts), sent with EVALSHA through ioredis's
// defineCommand (which falls back to EVAL when Redis restarted and lost its script cache).
// Keys start with `quilt:` and expire once idle: a bucket when it would be full again, a
// window when its newest entry leaves it.
//
// A dead Redis must not hold requests (src/redis/redis-client.ts: no queue, no retry); a hung
// Redis is cut short by failure-policy.ts's deadline (250 ms). Errors are thrown to the
// caller; what a failure means for the request is failure-policy.ts's decision.
import type { Redis } from 'ioredis';
import { closeRedisClient, connectionSettled, createRedisClient } from '../../redis/redis-client.js';
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
    const redis = createRedisClient(url, options.commandTimeoutMs ?? 1000);
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
    await connectionSettled(this.#redis, this.#connectWaitMs);
    const reply = await this.#redis.quiltTake(`${KEY_PREFIX}bucket:${key}`, spec.capacity, spec.refillPerSec, cost);
    return bucketState(reply);
  }

  async refund(key: string, points: number, spec: BucketSpec): Promise<BucketState> {
    await connectionSettled(this.#redis, this.#connectWaitMs);
    const reply = await this.#redis.quiltRefund(`${KEY_PREFIX}bucket:${key}`, spec.capacity, spec.refillPerSec, points);
    return bucketState(reply);
  }

  async hit(key: string, count: number, windowMs: number): Promise<number[]> {
    await connectionSettled(this.#redis, this.#connectWaitMs);
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

  close(): Promise<void> {
    return closeRedisClient(this.#redis);
  }
}

function bucketState([ok, remaining, retryAfterSec]: ScriptReply): BucketState {
  return { ok: ok === 1, remaining: Number(remaining), retryAfterSec };
}
