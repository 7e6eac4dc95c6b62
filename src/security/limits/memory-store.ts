// The limit store of a single gateway (no --redis-url). Every operation runs synchronously
// from start to return, so within one process it is one atomic step: two requests can never
// both see the same points. Buckets refill lazily from timestamps (no timers). Memory is
// bounded: past `maxKeys` entries a sweep drops full buckets and expired windows (both are
// the same as absent), then the least recently used entries; a dropped bucket that was not
// full comes back full, which is lenient to that client, never strict to another.
import type { BucketSpec, BucketState, LimitStore } from './types.js';

/**
 * Entries one window key keeps: the limiter only asks whether more than `max` calls are in
 * the window, so keeping the newest N changes no decision while `max` stays below N.
 */
export const MAX_WINDOW_ENTRIES = 10_000;

/** When a refused take could succeed, in whole seconds (>= 1); a bucket that never refills: a day. */
export function retryAfterSec(missing: number, refillPerSec: number): number {
  if (!(refillPerSec > 0)) return 86_400;
  return Math.max(1, Math.ceil(missing / refillPerSec));
}

export interface MemoryLimitStoreOptions {
  /** Entries kept per map (buckets, windows) before a sweep; default 100 000. */
  maxKeys?: number;
  /** Milliseconds clock; tests pass a fake one. */
  now?: () => number;
}

interface Bucket {
  points: number;
  at: number;
  spec: BucketSpec;
}

interface Window {
  stamps: number[];
  windowMs: number;
}

export class MemoryLimitStore implements LimitStore {
  readonly #buckets = new Map<string, Bucket>();
  readonly #windows = new Map<string, Window>();
  readonly #maxKeys: number;
  readonly #now: () => number;

  constructor(options: MemoryLimitStoreOptions = {}) {
    this.#maxKeys = options.maxKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  /** Entries held now (buckets + windows), for tests of the bound. */
  get size(): number {
    return this.#buckets.size + this.#windows.size;
  }

  async take(key: string, cost: number, spec: BucketSpec): Promise<BucketState> {
    const bucket = this.#refilled(key, spec);
    if (bucket.points < cost) {
      return {
        ok: false,
        remaining: bucket.points,
        retryAfterSec: retryAfterSec(cost - bucket.points, spec.refillPerSec),
      };
    }
    bucket.points -= cost;
    this.#store(key, bucket);
    return { ok: true, remaining: bucket.points, retryAfterSec: 0 };
  }

  async refund(key: string, points: number, spec: BucketSpec): Promise<BucketState> {
    const bucket = this.#refilled(key, spec);
    bucket.points = Math.min(spec.capacity, bucket.points + Math.max(0, points));
    this.#store(key, bucket);
    return { ok: true, remaining: bucket.points, retryAfterSec: 0 };
  }

  async hit(key: string, count: number, windowMs: number): Promise<number[]> {
    const now = this.#now();
    const window = this.#windows.get(key) ?? { stamps: [], windowMs };
    window.windowMs = windowMs;
    // Stamps are appended in time order: the expired ones are a prefix.
    const firstLive = window.stamps.findIndex((t) => t > now - windowMs);
    const prior = firstLive < 0 ? [] : window.stamps.slice(firstLive);
    const added = Math.min(Math.max(1, Math.floor(count)), MAX_WINDOW_ENTRIES);
    const stamps = prior.concat(new Array<number>(added).fill(now));
    window.stamps = stamps.length > MAX_WINDOW_ENTRIES ? stamps.slice(stamps.length - MAX_WINDOW_ENTRIES) : stamps;
    this.#windows.delete(key);
    this.#windows.set(key, window);
    if (this.#windows.size > this.#maxKeys) this.#sweep();
    return prior;
  }

  async close(): Promise<void> {
    this.#buckets.clear();
    this.#windows.clear();
  }

  /** The bucket as it is now: absent means full; refilled for the time since it was written. */
  #refilled(key: string, spec: BucketSpec): Bucket {
    const now = this.#now();
    const stored = this.#buckets.get(key);
    if (!stored) return { points: spec.capacity, at: now, spec };
    const elapsedSec = Math.max(0, now - stored.at) / 1000;
    const points = Math.min(spec.capacity, stored.points + elapsedSec * spec.refillPerSec);
    return { points, at: now, spec };
  }

  #store(key: string, bucket: Bucket): void {
    this.#buckets.delete(key); // re-insert: Map order is then least recently used first
    if (bucket.points >= bucket.spec.capacity) return; // full is the same as absent
    this.#buckets.set(key, bucket);
    if (this.#buckets.size > this.#maxKeys) this.#sweep();
  }

  /** Drops what is the same as absent, then the least recently used, down to 90% of the cap. */
  #sweep(): void {
    const now = this.#now();
    for (const [key, b] of this.#buckets) {
      if (b.points + (Math.max(0, now - b.at) / 1000) * b.spec.refillPerSec >= b.spec.capacity)
        this.#buckets.delete(key);
    }
    for (const [key, w] of this.#windows) {
      const newest = w.stamps[w.stamps.length - 1];
      if (newest === undefined || newest <= now - w.windowMs) this.#windows.delete(key);
    }
    const target = Math.floor(this.#maxKeys * 0.9);
    for (const map of [this.#buckets, this.#windows] as Map<string, unknown>[]) {
      for (const key of map.keys()) {
        if (map.size <= target) break;
        map.delete(key);
      }
    }
  }
}
