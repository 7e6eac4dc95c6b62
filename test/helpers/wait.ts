// Waiting in tests, in one place. `eventually` polls for a condition that some other process
// or socket will make true (a replica restarted, a log line written); it never asserts how
// long that took. Timing rules of Quilt's own code are tested on a FakeClock instead
// (fake-clock.ts), which needs no waiting at all.
import { setTimeout as delay } from 'node:timers/promises';

export const sleep = (ms: number): Promise<void> => delay(ms);

export interface EventuallyOptions {
  /** Give up after this long (default 5 s: a loaded CI machine is slow, not broken). */
  timeoutMs?: number;
  /** Poll interval (default 10 ms). */
  everyMs?: number;
  /** Named in the failure message. */
  what?: string;
}

/** Resolves with the first truthy value `probe` returns (or resolves to); rejects after the timeout. */
export async function eventually<T>(probe: () => T | Promise<T>, options: EventuallyOptions = {}): Promise<T> {
  const { timeoutMs = 5_000, everyMs = 10, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(
        `${what}: not met within ${timeoutMs} ms (last value: ${JSON.stringify(value) ?? String(value)})`,
      );
    await delay(everyMs);
  }
}

/** One turn of the event loop: every promise callback queued so far has run. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
