// A Clock (src/upstream/types.ts) that moves only when a test moves it: timers fire in due
// order as it advances, so deadlines, ejection times and health intervals are asserted
// exactly, with no sleeping and nothing that a loaded machine can make late.
import type { Clock, TimerHandle } from '../../src/upstream/types.js';
import { settle } from './wait.js';

interface Timer {
  id: number;
  at: number;
  callback: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, Timer>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle | undefined): void {
    this.#timers.delete(handle as number);
  }

  /** Timers waiting to fire. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Milliseconds until the next timer fires, or undefined when none is set. */
  get nextIn(): number | undefined {
    const next = this.#next();
    return next && next.at - this.#now;
  }

  /** A promise that resolves when the clock has moved `ms` further. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /**
   * Moves time forward by `ms`, firing each due timer at its own time, in order. Between
   * timers the event loop turns once, so what a timer's callback starts (a probe, an
   * attempt's promise chain) has settled before the next one fires.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await settle();
      const next = this.#next();
      if (!next || next.at > target) break;
      this.#timers.delete(next.id);
      this.#now = next.at;
      next.callback();
    }
    this.#now = target;
    await settle();
  }

  /** Fires the next timer (moving time to it); false when none is set. */
  async fireNext(): Promise<boolean> {
    await settle();
    const next = this.#next();
    if (!next) return false;
    await this.advance(next.at - this.#now);
    return true;
  }

  #next(): Timer | undefined {
    let first: Timer | undefined;
    for (const t of this.#timers.values())
      if (!first || t.at < first.at || (t.at === first.at && t.id < first.id)) first = t;
    return first;
  }
}

/** A deterministic stand-in for Math.random (mulberry32). */
export function seededRandom(seed = 1): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
