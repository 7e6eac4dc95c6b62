// Outlier detection by consecutive failures: a replica whose last N attempts failed (connect
// error, timeout, reset, 5xx / UNAVAILABLE) is ejected for base x level, the level growing
// with each ejection in a row and falling by one per base period served without one, up to
// maxEjectionMs. At most maxEjectionPercent of the replicas are out at once, but one
// ejection is always allowed, so a 2- or 3-replica pool can eject its bad replica (a 10% cap
// as in Envoy's default would never let it).
import type { ReplicaState } from '../replica.js';
import type { FailureKind, OutlierDetector, OutlierSettings } from '../types.js';

/** Told of each ejection, for the log and metrics. */
export type EjectionListener = (replica: ReplicaState, durationMs: number) => void;

export class ConsecutiveFailureDetector implements OutlierDetector {
  #settings: OutlierSettings;
  readonly #replicas: () => readonly ReplicaState[];
  readonly #onEject: EjectionListener;

  constructor(settings: OutlierSettings, replicas: () => readonly ReplicaState[], onEject: EjectionListener) {
    this.#settings = settings;
    this.#replicas = replicas;
    this.#onEject = onEject;
  }

  configure(settings: OutlierSettings): void {
    this.#settings = settings;
  }

  success(replica: ReplicaState): void {
    replica.consecutiveFailures = 0;
  }

  failure(replica: ReplicaState, _kind: FailureKind, now: number): void {
    if (++replica.consecutiveFailures < this.#settings.consecutiveFailures || replica.isEjected(now)) return;
    const { baseEjectionMs, maxEjectionMs, maxEjectionPercent } = this.#settings;
    const replicas = this.#replicas();
    let ejected = 0;
    for (const r of replicas) if (r.isEjected(now)) ejected++;
    if (ejected >= Math.max(1, Math.floor((replicas.length * maxEjectionPercent) / 100))) return;
    if (replica.ejectedUntil) {
      const calmPeriods = Math.floor((now - replica.ejectedUntil) / baseEjectionMs);
      replica.ejectionLevel = Math.max(0, replica.ejectionLevel - calmPeriods);
    }
    replica.ejectionLevel++;
    const durationMs = Math.min(maxEjectionMs, baseEjectionMs * replica.ejectionLevel);
    replica.ejectedUntil = now + durationMs;
    replica.returnedAt = replica.ejectedUntil;
    replica.ejections++;
    replica.consecutiveFailures = 0;
    this.#onEject(replica, durationMs);
  }
}
