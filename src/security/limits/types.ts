// The shared state of limits: a token bucket per client (cost budget) and a sliding window
// log per client and field (@rateLimit). Each operation is one atomic step, in memory or in
// Redis (a Lua script), never a read followed by a write: two gateway instances taking from
// one bucket at once must not both see the same points.

export interface BucketState {
  /** The take succeeded (for take) / always true for refund. */
  ok: boolean;
  /** Points left after the operation. */
  remaining: number;
  /** take refused: seconds until `cost` points are available (ceil, >= 1). */
  retryAfterSec: number;
}

export interface BucketSpec {
  capacity: number;
  /** Points per second. */
  refillPerSec: number;
}

export interface LimitStore {
  /** Refills `key`'s bucket for the time elapsed, then takes `cost` points if that many are there. */
  take(key: string, cost: number, spec: BucketSpec): Promise<BucketState>;
  /** Gives back up to `points` (never above capacity). */
  refund(key: string, points: number, spec: BucketSpec): Promise<BucketState>;
  /**
   * Sliding window log: drops entries older than `windowMs`, appends `count` entries stamped
   * now, and returns the timestamps that were there before (the limiter decides).
   */
  hit(key: string, count: number, windowMs: number): Promise<number[]>;
  close(): Promise<void>;
}
