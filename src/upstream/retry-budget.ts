// Retries of calls that reached a replica are capped at a share of the upstream's calls
// over the last ten seconds, plus a floor per second (Finagle's RetryBudget), so that
// retries cannot multiply an outage: when every replica answers 503, the pool sends about
// 1.2x the calls, not 3x. Calls that never reached a replica cost it nothing and are exempt.
import type { RetrySettings } from './types.js';

const WINDOW_SECONDS = 10;

export class RetryBudget {
  readonly #calls = new Float64Array(WINDOW_SECONDS);
  readonly #retries = new Float64Array(WINDOW_SECONDS);
  readonly #second = new Float64Array(WINDOW_SECONDS).fill(-1);

  constructor(private readonly settings: RetrySettings) {}

  #slot(now: number): number {
    const second = Math.floor(now / 1000);
    const i = second % WINDOW_SECONDS;
    if (this.#second[i] !== second) {
      this.#second[i] = second;
      this.#calls[i] = 0;
      this.#retries[i] = 0;
    }
    return i;
  }

  recordCall(now: number): void {
    this.#calls[this.#slot(now)]++;
  }

  /** Takes one retry from the budget when there is one left. */
  tryRetry(now: number): boolean {
    const i = this.#slot(now);
    const oldest = Math.floor(now / 1000) - WINDOW_SECONDS + 1;
    let calls = 0;
    let retries = 0;
    for (let s = 0; s < WINDOW_SECONDS; s++) {
      if (this.#second[s] < oldest) continue;
      calls += this.#calls[s];
      retries += this.#retries[s];
    }
    const allowed = this.settings.budgetMinPerSecond * WINDOW_SECONDS + (calls * this.settings.budgetPercent) / 100;
    if (retries >= allowed) return false;
    this.#retries[i]++;
    return true;
  }
}
