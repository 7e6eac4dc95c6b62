// The last five minutes of one replica's (or one upstream's) calls, in one-second buckets:
// calls, failures and latency p50/p99 per second. The second being counted keeps a latency
// histogram (latency-histogram.ts); when a later second starts, its two quantiles are
// computed once and written to a ring of WINDOW_SECONDS slots, each stamped with its second,
// so a slot left over from an earlier lap of the ring reads as empty and a quiet stretch
// costs nothing to skip. Memory is fixed at construction (see SERIES_BYTES); recording a call
// is a comparison, two increments and one histogram increment, with no allocation.
import { HISTOGRAM_BINS, LatencyHistogram } from './latency-histogram.js';

/** Seconds of history kept. */
export const WINDOW_SECONDS = 300;

/** Bytes of typed arrays one series holds: stamps (8) + calls (4) + failures (4) + p50 (4) + p99 (4) per second, and the open second's histogram. */
export const SERIES_BYTES = WINDOW_SECONDS * (8 + 4 + 4 + 4 + 4) + HISTOGRAM_BINS * 4;

/** Seconds `from`..`to` (epoch seconds, inclusive), one entry per second; null: no latency sample that second. */
export interface SeriesPoints {
  calls: number[];
  failures: number[];
  p50Ms: (number | null)[];
  p99Ms: (number | null)[];
}

export class CallSeries {
  /** The epoch second being counted (-1: none yet). */
  #open = -1;
  #calls = 0;
  #failures = 0;
  readonly #latency = new LatencyHistogram();
  readonly #stamp = new Float64Array(WINDOW_SECONDS).fill(-1);
  readonly #callsAt = new Uint32Array(WINDOW_SECONDS);
  readonly #failuresAt = new Uint32Array(WINDOW_SECONDS);
  readonly #p50At = new Float32Array(WINDOW_SECONDS);
  readonly #p99At = new Float32Array(WINDOW_SECONDS);

  /** The last second anything was recorded or read (-1: never). */
  get lastSecond(): number {
    return this.#open;
  }

  /**
   * One call that ended in epoch second `second`, its latency in histogram bin `latencyBin`
   * (binOf(ms)); -1: no latency sample (a refused connection or a cancelled attempt says
   * nothing about the replica's speed).
   */
  record(second: number, failed: boolean, latencyBin: number): void {
    // A clock stepped back counts into the open second rather than rewriting history.
    if (second > this.#open) this.#close(second);
    this.#calls++;
    if (failed) this.#failures++;
    if (latencyBin >= 0) this.#latency.recordBin(latencyBin);
  }

  /** Seconds from..to (inclusive; at most WINDOW_SECONDS of them, all before `now`). */
  read(from: number, to: number, nowSecond: number): SeriesPoints {
    if (nowSecond > this.#open) this.#close(nowSecond);
    const points: SeriesPoints = { calls: [], failures: [], p50Ms: [], p99Ms: [] };
    for (let s = from; s <= to; s++) {
      const slot = s % WINDOW_SECONDS;
      if (this.#stamp[slot] !== s || s >= this.#open) {
        points.calls.push(0);
        points.failures.push(0);
        points.p50Ms.push(null);
        points.p99Ms.push(null);
        continue;
      }
      points.calls.push(this.#callsAt[slot]);
      points.failures.push(this.#failuresAt[slot]);
      points.p50Ms.push(quantileOrNull(this.#p50At[slot]));
      points.p99Ms.push(quantileOrNull(this.#p99At[slot]));
    }
    return points;
  }

  /** Writes the open second (if it counted anything) to its slot and opens `second`. */
  #close(second: number): void {
    if (this.#open >= 0 && this.#calls > 0) {
      const slot = this.#open % WINDOW_SECONDS;
      this.#stamp[slot] = this.#open;
      this.#callsAt[slot] = this.#calls;
      this.#failuresAt[slot] = this.#failures;
      this.#p50At[slot] = this.#latency.quantile(0.5);
      this.#p99At[slot] = this.#latency.quantile(0.99);
      this.#calls = 0;
      this.#failures = 0;
      this.#latency.clear();
    }
    this.#open = second;
  }
}

/** Two decimals are plenty for a chart and keep the JSON short. */
function quantileOrNull(ms: number): number | null {
  return Number.isNaN(ms) ? null : Math.round(ms * 100) / 100;
}
