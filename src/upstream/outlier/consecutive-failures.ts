// Outlier detection by consecutive failures: a replica whose last N attempts failed (connect
// error, timeout, reset, 5xx / UNAVAILABLE) is ejected. It catches a replica that is down; a
// replica that fails only some of its calls never reaches N in a row, which is what the
// success-rate rules (success-rate.ts) are for.
import type { ReplicaState } from '../replica.js';
import type { OutlierSettings } from '../types.js';
import type { Ejector } from './ejector.js';

export class ConsecutiveFailureDetector {
  constructor(
    private readonly settings: () => OutlierSettings,
    private readonly ejector: Ejector,
  ) {}

  success(replica: ReplicaState): void {
    replica.consecutiveFailures = 0;
  }

  failure(replica: ReplicaState, now: number): void {
    if (++replica.consecutiveFailures < this.settings().consecutiveFailures) return;
    this.ejector.eject(replica, now, 'consecutive_failures');
  }
}
