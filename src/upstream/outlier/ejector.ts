// Ejection, whichever rule asks for it: a replica is kept out for base x level, the level
// growing with each ejection in a row and falling by one per base period served without one,
// up to maxEjectionMs. At most maxEjectionPercent of the replicas are out at once, but one
// ejection is always allowed, so a 2- or 3-replica pool can eject its bad replica (a 10% cap
// as in Envoy's default would never let it).
import type { ReplicaState } from '../replica.js';
import type { EjectionReason, OutlierSettings } from '../types.js';

/** Told of each ejection, for the log and metrics. */
export type EjectionListener = (replica: ReplicaState, durationMs: number, reason: EjectionReason) => void;

export class Ejector {
  constructor(
    private readonly settings: () => OutlierSettings,
    private readonly replicas: () => readonly ReplicaState[],
    private readonly onEject: EjectionListener,
  ) {}

  /** Ejects `replica` unless it is out already or the cap is reached; true when it did. */
  eject(replica: ReplicaState, now: number, reason: EjectionReason): boolean {
    if (replica.isEjected(now)) return false;
    const { baseEjectionMs, maxEjectionMs, maxEjectionPercent } = this.settings();
    const replicas = this.replicas();
    let ejected = 0;
    for (const r of replicas) if (r.isEjected(now)) ejected++;
    if (ejected >= Math.max(1, Math.floor((replicas.length * maxEjectionPercent) / 100))) return false;
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
    this.onEject(replica, durationMs, reason);
    return true;
  }
}
