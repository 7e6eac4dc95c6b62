// One replica's state inside its cluster: what the balancer reads (in flight, latency,
// weight during slow start) and what the health rules write (active check verdict, outlier
// ejection). Envoy's host flags: FAILED_ACTIVE_HC is `activeHealthy === false`,
// FAILED_OUTLIER_CHECK is `ejectedUntil > now`; a replica is healthy when neither is set.
import type { Replica, ReplicaSnapshot } from './types.js';

// Peak EWMA (Finagle, Linkerd): a slower sample replaces the average at once, faster ones
// pull it down with a weight that decays with the time since the last sample.
const EWMA_DECAY_MS = 5_000;
// An unmeasured replica with a call in flight looks this slow, so that it is probed with one
// call at a time until it has a latency of its own (Finagle's penalty), not flooded.
const UNMEASURED_BUSY_MS = 1_000;
const SLOW_START_FLOOR = 0.1;

export class ReplicaState implements Replica {
  inFlight = 0;
  activeHealthy = true;
  /** Epoch ms until which outlier detection keeps it out; 0 when never ejected. */
  ejectedUntil = 0;
  /** Ejections in a row: the next one lasts this many + 1 base times. Decays while it behaves. */
  ejectionLevel = 0;
  ejections = 0;
  consecutiveFailures = 0;
  /** Attempts and failed attempts in the success-rate rules' current interval. */
  intervalAttempts = 0;
  intervalFailures = 0;
  /** When it last came back (health check passed, ejection ended): slow start counts from here. */
  returnedAt = 0;
  calls = 0;
  failures = 0;
  lastFailure: string | null = null;
  #ewmaMs = 0;
  #ewmaAt = 0;
  #measured = false;

  constructor(
    readonly url: string,
    readonly weight: number,
    /** Set by the cluster from its settings (a reload may change it). */
    public slowStartMs: number,
  ) {}

  get latencyMs(): number {
    if (this.#measured) return this.#ewmaMs;
    return this.inFlight > 0 ? UNMEASURED_BUSY_MS : 0;
  }

  get latencyEwmaMs(): number {
    return this.#ewmaMs;
  }

  observeLatency(ms: number, now: number): void {
    if (!this.#measured || ms > this.#ewmaMs) {
      this.#ewmaMs = ms;
      this.#measured = true;
    } else {
      const w = Math.exp(-Math.max(0, now - this.#ewmaAt) / EWMA_DECAY_MS);
      this.#ewmaMs = this.#ewmaMs * w + ms * (1 - w);
    }
    this.#ewmaAt = now;
  }

  isEjected(now: number): boolean {
    return this.ejectedUntil > now;
  }

  isHealthy(now: number): boolean {
    return this.activeHealthy && this.ejectedUntil <= now;
  }

  effectiveWeight(now: number): number {
    const since = now - this.returnedAt;
    if (this.slowStartMs <= 0 || since >= this.slowStartMs) return this.weight;
    return this.weight * Math.max(SLOW_START_FLOOR, since / this.slowStartMs);
  }

  snapshot(now: number): ReplicaSnapshot {
    const ejected = this.isEjected(now);
    const health = this.activeHealthy
      ? ejected
        ? 'ejected'
        : 'healthy'
      : ejected
        ? 'failed_active_hc+ejected'
        : 'failed_active_hc';
    return {
      url: this.url,
      weight: this.weight,
      health,
      ejectedUntil: ejected ? new Date(this.ejectedUntil).toISOString() : null,
      ejections: this.ejections,
      inFlight: this.inFlight,
      latencyEwmaMs: Math.round(this.#ewmaMs * 100) / 100,
      calls: this.calls,
      failures: this.failures,
      lastFailure: this.lastFailure,
    };
  }
}
