// Active health checks: each replica is probed on its own timer and turns unhealthy after
// unhealthyThreshold consecutive failures, healthy again after healthyThreshold consecutive
// passes (Envoy's rise/fall thresholds). Replicas start healthy: a new pool must serve at
// once, and the cluster's outlier detection covers a bad replica until its first failed
// checks. The checker knows nothing of the balancer; it only reports flips through onChange,
// and the cluster sets its own flag from them (cluster-health-checks.ts).
// Probes are spread out with random delays so many replicas (and many gateways) do not
// probe in lockstep, and the next probe is scheduled only once the previous one settled,
// so a slow replica never has more than one probe in flight.
import { systemClock } from '../clock.js';
import type { Clock, HealthProbe, HealthSettings, TimerHandle } from '../types.js';

/** Random share of intervalMs added to each wait (and the most the first probe is delayed). */
const JITTER_SHARE = 0.1;
/** Our own deadline is the probe's plus this, so the probe's own (more precise) reason wins. */
const GUARD_GRACE_MS = 50;

interface Target {
  readonly url: string;
  healthy: boolean;
  passes: number;
  failures: number;
  timer: TimerHandle | undefined;
}

export interface HealthCheckerDeps {
  /** Default: the system clock. */
  clock?: Clock;
  /** Jitter source; default Math.random. */
  random?: () => number;
}

export class HealthChecker {
  readonly #settings: HealthSettings;
  readonly #probe: HealthProbe;
  readonly #onChange: (url: string, healthy: boolean, reason: string) => void;
  readonly #random: () => number;
  readonly #clock: Clock;
  readonly #targets = new Map<string, Target>();
  /** Urls with a probe running, kept across remove and re-add so they never get two at once. */
  readonly #inFlight = new Set<string>();
  #stopped = false;

  constructor(
    settings: HealthSettings,
    probe: HealthProbe,
    onChange: (url: string, healthy: boolean, reason: string) => void,
    deps: HealthCheckerDeps = {},
  ) {
    this.#settings = settings;
    this.#probe = probe;
    this.#onChange = onChange;
    this.#random = deps.random ?? Math.random;
    this.#clock = deps.clock ?? systemClock;
  }

  /** The replica list: new urls start (healthy) and are probed soon; removed urls are forgotten; kept urls keep their state. */
  update(urls: readonly string[]): void {
    if (this.#stopped) return;
    const wanted = new Set(urls);
    for (const [url, target] of this.#targets) {
      if (wanted.has(url)) continue;
      this.#clock.clearTimeout(target.timer);
      this.#targets.delete(url); // a probe still in flight finds itself gone and is ignored
    }
    for (const url of wanted) {
      if (this.#targets.has(url)) continue;
      const target: Target = { url, healthy: true, passes: 0, failures: 0, timer: undefined };
      this.#targets.set(url, target);
      this.#schedule(target, this.#random() * JITTER_SHARE * this.#settings.intervalMs);
    }
  }

  /** Final: clears every timer; results of probes still in flight are dropped. */
  stop(): void {
    this.#stopped = true;
    for (const target of this.#targets.values()) this.#clock.clearTimeout(target.timer);
    this.#targets.clear();
  }

  #schedule(target: Target, delayMs: number): void {
    target.timer = this.#clock.setTimeout(() => this.#run(target), delayMs);
  }

  #run(target: Target): void {
    target.timer = undefined;
    const { timeoutMs, intervalMs } = this.#settings;
    if (this.#inFlight.has(target.url)) {
      this.#schedule(target, intervalMs * JITTER_SHARE);
      return;
    }
    this.#inFlight.add(target.url);
    let settled = false;
    const finish = (error: unknown, failed: boolean): void => {
      if (settled) return;
      settled = true;
      this.#clock.clearTimeout(guard);
      this.#inFlight.delete(target.url);
      // Removed by update(), removed and added again, or stopped: this result is stale.
      if (this.#targets.get(target.url) !== target) return;
      this.#schedule(target, intervalMs + this.#random() * JITTER_SHARE * intervalMs);
      this.#record(target, failed ? reasonOf(error) : undefined);
    };
    // A probe that never settles (a bug, or a library ignoring its deadline) still fails.
    const guard = this.#clock.setTimeout(
      () => finish(new Error(`health check timed out after ${timeoutMs} ms`), true),
      timeoutMs + GUARD_GRACE_MS,
    );
    try {
      this.#probe(target.url, timeoutMs).then(
        () => finish(undefined, false),
        (error: unknown) => finish(error, true),
      );
    } catch (error) {
      finish(error, true);
    }
  }

  /** failure: the reason the probe failed, or undefined when it passed. */
  #record(target: Target, failure: string | undefined): void {
    const { healthyThreshold, unhealthyThreshold } = this.#settings;
    if (failure === undefined) {
      target.failures = 0;
      target.passes++;
      if (target.healthy || target.passes < Math.max(1, healthyThreshold)) return;
      target.healthy = true;
      this.#notify(target, `passed ${target.passes} checks`);
    } else {
      target.passes = 0;
      target.failures++;
      if (!target.healthy || target.failures < Math.max(1, unhealthyThreshold)) return;
      target.healthy = false;
      this.#notify(target, failure);
    }
  }

  #notify(target: Target, reason: string): void {
    target.passes = 0;
    target.failures = 0;
    try {
      this.#onChange(target.url, target.healthy, reason);
    } catch (error) {
      // The probe chain is already rescheduled; a throwing listener must not stop it or crash the process.
      process.emitWarning(`health check listener failed for ${target.url}: ${reasonOf(error)}`);
    }
  }
}

function reasonOf(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return typeof error === 'string' && error ? error : 'health check failed';
}
