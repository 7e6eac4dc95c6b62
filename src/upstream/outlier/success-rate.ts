// Outlier detection by success rate, after Envoy's success_rate and failure_percentage
// detectors: each replica's attempts are counted per interval, and when an interval ends
// (at the first outcome after it, so an idle pool does no work and a test clock drives it):
// - success rate: with at least successRateMinimumHosts replicas that made
//   successRateRequestVolume attempts or more, a replica whose success rate is below
//   mean - successRateStdevFactor x standard deviation is ejected;
// - failure percentage: with at least failurePercentageMinimumHosts replicas that made
//   failurePercentageRequestVolume attempts or more, a replica whose failures are at least
//   failurePercentageThreshold percent of its attempts is ejected (0 turns this rule off).
// The second one is what catches a replica failing every other call in a pool of two or three:
// there the low rate sits about one deviation under the mean, never 1.9 deviations.
import type { ReplicaState } from '../replica.js';
import type { OutlierSettings } from '../types.js';
import type { Ejector } from './ejector.js';

export class SuccessRateDetector {
  /** When the interval being counted ends; 0 before the first outcome. */
  #intervalEnd = 0;

  constructor(
    private readonly settings: () => OutlierSettings,
    private readonly replicas: () => readonly ReplicaState[],
    private readonly ejector: Ejector,
  ) {}

  success(replica: ReplicaState, now: number): void {
    this.#roll(now);
    replica.intervalAttempts++;
  }

  failure(replica: ReplicaState, now: number): void {
    this.#roll(now);
    replica.intervalAttempts++;
    replica.intervalFailures++;
  }

  #roll(now: number): void {
    if (now < this.#intervalEnd) return;
    if (this.#intervalEnd !== 0) this.#judge(now);
    for (const r of this.replicas()) {
      r.intervalAttempts = 0;
      r.intervalFailures = 0;
    }
    this.#intervalEnd = now + this.settings().intervalMs;
  }

  #judge(now: number): void {
    const s = this.settings();
    const replicas = this.replicas().filter((r) => !r.isEjected(now));
    const rated = replicas.filter((r) => r.intervalAttempts >= s.successRateRequestVolume);
    if (rated.length >= s.successRateMinimumHosts) {
      const rates = rated.map((r) => 1 - r.intervalFailures / r.intervalAttempts);
      const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
      const deviation = Math.sqrt(rates.reduce((a, r) => a + (r - mean) ** 2, 0) / rates.length);
      const floor = mean - s.successRateStdevFactor * deviation;
      rated.forEach((r, i) => {
        if (rates[i]! < floor) this.ejector.eject(r, now, 'success_rate');
      });
    }
    if (s.failurePercentageThreshold === 0) return;
    const counted = replicas.filter((r) => r.intervalAttempts >= s.failurePercentageRequestVolume);
    if (counted.length < s.failurePercentageMinimumHosts) return;
    for (const r of counted) {
      if ((r.intervalFailures * 100) / r.intervalAttempts >= s.failurePercentageThreshold)
        this.ejector.eject(r, now, 'failure_percentage');
    }
  }
}
